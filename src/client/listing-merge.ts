import { comparePaths, ErrorCode, ParecoError, type Entry } from '../../protocol/index.js';

/** One path of the two trees: its source entry, its destination entry, or both. */
export interface Pair {
  path: string;
  src: Entry | undefined;
  dst: Entry | undefined;
}

/** Pairs handed out together: one await per group, not per entry. */
const GROUP = 256;

/** Reads one listing entry by entry, checking that it comes in canonical order. */
class Cursor {
  readonly #batches: AsyncIterator<Entry[]>;
  readonly #side: string;
  #batch: Entry[] = [];
  #index = 0;
  #done = false;
  #last: string | undefined;

  constructor(listing: AsyncIterable<Entry[]>, side: string) {
    this.#batches = listing[Symbol.asyncIterator]();
    this.#side = side;
  }

  /** The next entry without taking it, undefined at the end; awaits only when a batch is used up. */
  peek(): Entry | undefined | Promise<Entry | undefined> {
    if (this.#index < this.#batch.length) return this.#batch[this.#index];
    if (this.#done) return undefined;
    return this.#refill();
  }

  take(): Entry {
    const entry = this.#batch[this.#index++]!;
    // A listing out of order would pair the wrong entries: refuse it (a peer may be broken or hostile).
    if (this.#last !== undefined && comparePaths(this.#last, entry.path) >= 0) {
      throw new ParecoError(ErrorCode.PROTOCOL, `the ${this.#side} listing is out of order: ${JSON.stringify(entry.path)} after ${JSON.stringify(this.#last)}`);
    }
    this.#last = entry.path;
    return entry;
  }

  async #refill(): Promise<Entry | undefined> {
    for (;;) {
      const next = await this.#batches.next();
      if (next.done) {
        this.#done = true;
        return undefined;
      }
      if (next.value.length > 0) {
        this.#batch = next.value;
        this.#index = 0;
        return this.#batch[0];
      }
    }
  }
}

/**
 * Merges the source and destination listings, both in canonical order (protocol/name-order.ts),
 * into one stream of pairs in that order, one per path: a single pass that holds only the
 * current batch of each side, so that work starts with the first entries and memory does not
 * grow with the trees.
 */
export async function* mergeListings(source: AsyncIterable<Entry[]>, dest: AsyncIterable<Entry[]>): AsyncGenerator<Pair[]> {
  const src = new Cursor(source, 'source');
  const dst = new Cursor(dest, 'destination');
  let group: Pair[] = [];
  for (;;) {
    let a = src.peek();
    let b = dst.peek();
    if (a instanceof Promise || b instanceof Promise) {
      // About to wait for a listing: hand out what is ready first, so work starts meanwhile.
      if (group.length > 0) {
        yield group;
        group = [];
      }
      [a, b] = await Promise.all([a, b]);
    }
    if (a === undefined && b === undefined) break;
    const order = a === undefined ? 1 : b === undefined ? -1 : comparePaths(a.path, b.path);
    if (order < 0) group.push({ path: a!.path, src: src.take(), dst: undefined });
    else if (order > 0) group.push({ path: b!.path, src: undefined, dst: dst.take() });
    else group.push({ path: a!.path, src: src.take(), dst: dst.take() });
    if (group.length >= GROUP) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}
