import { ErrorCode, ParecoError, type Entry } from '../../protocol/index.js';

/** One batch of a listing, as the `entries` response carries it. */
export interface ListingBatch {
  entries: Entry[];
  done: boolean;
}

/** Batches a client may ask beyond the last one asked (it asks 4 ahead)... */
const AHEAD = 8;
/** ...and batches kept to answer again when a lane dropped with the answer. */
const KEPT = 16;

/**
 * A session's listing cut into numbered batches. A client asks several batches ahead, on any
 * lanes, so they can arrive out of order: a batch is made only after the one before it, and a
 * request waits for it. A batch asked again (its answer was lost with a lane) is answered
 * again; past the end of the listing come empty batches marked done.
 */
export class ListingBatches {
  readonly #open: (digests: boolean) => AsyncIterator<Entry[]>;
  #listing: AsyncIterator<Entry[]> | undefined;
  /** Batches made or being made, by number: the recent ones only. */
  readonly #batches = new Map<number, Promise<ListingBatch>>();
  /** The highest batch number made or being made (-1: none). */
  #last = -1;
  #ended = false;

  /** `open` starts the listing (with small files' digests when asked). */
  constructor(open: (digests: boolean) => AsyncIterator<Entry[]>) {
    this.#open = open;
  }

  batch(seq: number, digests: boolean): Promise<ListingBatch> {
    // The first batches may arrive in any order: the first of them starts the listing. Batch 0
    // asked once the listing is under way (and no longer kept) starts a new one.
    if (this.#listing === undefined ? seq < AHEAD : seq === 0 && !this.#batches.has(0)) this.#restart(digests);
    const known = this.#batches.get(seq);
    if (known !== undefined) return known;
    if (this.#listing === undefined) return Promise.reject(new ParecoError(ErrorCode.PROTOCOL, `list batch ${seq} asked before batch 0`));
    if (seq <= this.#last) return Promise.reject(new ParecoError(ErrorCode.PROTOCOL, `list batch ${seq} is too old to be answered again`));
    if (seq > this.#last + AHEAD) return Promise.reject(new ParecoError(ErrorCode.PROTOCOL, `list batch ${seq} asked too far ahead of batch ${this.#last}`));
    while (this.#last < seq) this.#make(this.#last + 1);
    return this.#batches.get(seq)!;
  }

  #restart(digests: boolean): void {
    this.#listing = this.#open(digests);
    this.#batches.clear();
    this.#last = -1;
    this.#ended = false;
  }

  /** Makes batch `seq` once the one before it is made: the listing is read in order. */
  #make(seq: number): void {
    const before = this.#batches.get(seq - 1) ?? Promise.resolve(undefined);
    const listing = this.#listing!;
    const made = before.then(async () => {
      if (this.#ended) return { entries: [], done: true };
      const next = await listing.next();
      if (next.done) this.#ended = true;
      return next.done ? { entries: [], done: true } : { entries: next.value, done: false };
    });
    made.catch(() => {}); // the request for it hears the failure
    this.#batches.set(seq, made);
    this.#last = seq;
    for (const old of this.#batches.keys()) {
      if (old > seq - KEPT) break;
      this.#batches.delete(old);
    }
  }
}
