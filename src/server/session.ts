import type { WebSocket } from 'ws';
import { ErrorCode, ParecoError, type Entry, type Mode } from '../../protocol/index.js';
import type { LocalTree } from '../fs/local-tree.js';

/** Listing batches kept to answer again: more than a client asks ahead (4). */
const RECENT_BATCHES = 8;

/**
 * One sync on the server: the tree it works on, the lanes joined to it, and when it was last
 * used. The resume key is the secret that lets a lane join (or rejoin after a drop).
 */
export class Session {
  readonly id: string;
  readonly key: string;
  readonly mode: Mode;
  /** A dry run: never writes, so it takes no lock. */
  readonly dry: boolean;
  /** Real path of the session's root. */
  readonly root: string;
  readonly tree: LocalTree;
  readonly chunk: number;
  readonly lanes = new Set<WebSocket>();
  readonly startedAt = Date.now();
  lastActive = Date.now();
  bytesReceived = 0;
  bytesSent = 0;
  /** Address of the client that opened it, for the log. */
  client = '?';
  /** True once the session ended: work still under way for it (hashing a huge file) stops. */
  ended = false;
  #listing: AsyncIterator<Entry[]> | undefined;
  /** The batch after the last one sent, read ahead while the client digests what it got. */
  #ahead: Promise<IteratorResult<Entry[]>> | undefined;
  #listQueue: Promise<unknown> = Promise.resolve();
  /** The batches sent last, kept to answer a request asked again (its lane dropped). */
  #recent: { seq: number; entries: Entry[]; done: boolean }[] = [];

  constructor(init: { id: string; key: string; mode: Mode; dry?: boolean; root: string; tree: LocalTree; chunk: number }) {
    this.id = init.id;
    this.key = init.key;
    this.mode = init.mode;
    this.dry = init.dry ?? false;
    this.root = init.root;
    this.tree = init.tree;
    this.chunk = init.chunk;
  }

  /** True when the session writes into its root (an upload). */
  get writes(): boolean {
    return this.mode === 'upload' && !this.dry;
  }

  touch(): void {
    this.lastActive = Date.now();
  }

  /**
   * Batch `seq` of the listing: seq 0 starts a new listing (with small files' digests when
   * `digests`), seq n+1 follows n, and a recent seq asked again is answered again (its answer was
   * lost with a lane; a client asks a few batches ahead, so a few are kept). Calls are queued so
   * that batches come out in order even when a client pipelines them.
   */
  listBatch(seq: number, digests = false): Promise<{ entries: Entry[]; done: boolean }> {
    const next = this.#listQueue.then(async () => {
      const again = this.#recent.find((batch) => batch.seq === seq);
      if (again !== undefined) return again;
      const last = this.#recent.at(-1);
      // A client asks a few batches ahead, not knowing where the listing ends: past the end, more end.
      if (seq > 0 && last?.done === true && seq > last.seq) return { seq, entries: [], done: true };
      if (seq === 0) {
        this.#listing = this.tree.list({ digests })[Symbol.asyncIterator]();
        this.#ahead = undefined;
        this.#recent = [];
      } else if (last?.seq !== seq - 1 || this.#listing === undefined) {
        throw new ParecoError(ErrorCode.PROTOCOL, `list batch ${seq} asked out of order`);
      }
      const listing = this.#listing!;
      const result = await (this.#ahead ?? listing.next());
      const batch = result.done ? { seq, entries: [], done: true } : { seq, entries: result.value, done: false };
      this.#ahead = undefined;
      if (result.done) this.#listing = undefined;
      else {
        this.#ahead = listing.next();
        this.#ahead.catch(() => undefined); // surfaces on the next request
      }
      this.#recent.push(batch);
      if (this.#recent.length > RECENT_BATCHES) this.#recent.shift();
      return batch;
    });
    this.#listQueue = next.catch(() => {
      this.#listing = undefined;
    });
    return next;
  }

  /** Closes lanes and files; partial files stay for a later run. */
  async end(code: number, reason: string): Promise<void> {
    this.ended = true;
    for (const ws of this.lanes) ws.close(code, reason);
    this.lanes.clear();
    await this.tree.close();
  }
}
