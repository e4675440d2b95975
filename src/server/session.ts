import type { WebSocket } from 'ws';
import type { Entry, Mode } from '../../protocol/index.js';
import type { LocalTree } from '../fs/local-tree.js';

/**
 * One sync on the server: the tree it works on, the lanes joined to it, and when it was last
 * used. The resume key is the secret that lets a lane join (or rejoin after a drop).
 */
export class Session {
  readonly id: string;
  readonly key: string;
  readonly mode: Mode;
  /** Real path of the session's root. */
  readonly root: string;
  readonly tree: LocalTree;
  readonly chunk: number;
  readonly lanes = new Set<WebSocket>();
  readonly startedAt = Date.now();
  lastActive = Date.now();
  bytesReceived = 0;
  bytesSent = 0;
  #listing: AsyncIterator<Entry[]> | undefined;
  #listQueue: Promise<unknown> = Promise.resolve();

  constructor(init: { id: string; key: string; mode: Mode; root: string; tree: LocalTree; chunk: number }) {
    this.id = init.id;
    this.key = init.key;
    this.mode = init.mode;
    this.root = init.root;
    this.tree = init.tree;
    this.chunk = init.chunk;
  }

  /** True when the session writes into its root (an upload). */
  get writes(): boolean {
    return this.mode === 'upload';
  }

  touch(): void {
    this.lastActive = Date.now();
  }

  /**
   * The next batch of the listing. Calls are queued so that batches come out in order even if
   * a client pipelines them; after the last batch a new listing starts.
   */
  nextListBatch(): Promise<{ entries: Entry[]; done: boolean }> {
    const next = this.#listQueue.then(async () => {
      this.#listing ??= this.tree.list()[Symbol.asyncIterator]();
      const result = await this.#listing.next();
      if (result.done) {
        this.#listing = undefined;
        return { entries: [], done: true };
      }
      return { entries: result.value, done: false };
    });
    this.#listQueue = next.catch(() => {
      this.#listing = undefined;
    });
    return next;
  }

  /** Closes lanes and files; partial files stay for a later run. */
  async end(code: number, reason: string): Promise<void> {
    for (const ws of this.lanes) ws.close(code, reason);
    this.lanes.clear();
    await this.tree.close();
  }
}
