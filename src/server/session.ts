import type { WebSocket } from 'ws';
import { ErrorCode, ParecoError, type Entry, type Mode } from '../../protocol/index.js';
import type { LocalTree } from '../fs/local-tree.js';

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
  /** The last batch sent, kept to answer a retried request (its lane dropped). */
  #lastBatch: { seq: number; entries: Entry[]; done: boolean } | undefined;

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
   * Batch `seq` of the listing: seq 0 starts a new listing, seq n+1 follows n, and asking for
   * the last seq again repeats it (its answer was lost with a lane). Calls are queued so that
   * batches come out in order even if a client pipelines them.
   */
  listBatch(seq: number): Promise<{ entries: Entry[]; done: boolean }> {
    const next = this.#listQueue.then(async () => {
      if (this.#lastBatch?.seq === seq) return this.#lastBatch;
      if (seq === 0) {
        this.#listing = this.tree.list()[Symbol.asyncIterator]();
        this.#ahead = undefined;
      } else if (this.#lastBatch?.seq !== seq - 1 || this.#listing === undefined) {
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
      this.#lastBatch = batch;
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
