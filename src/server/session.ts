import type { WebSocket } from 'ws';
import type { Mode, PayloadCompressor } from '../../protocol/index.js';
import type { LocalTree } from '../fs/local-tree.js';
import { ListingBatches, type ListingBatch } from './listing-batches.js';

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
  /** Compresses the payloads this server sends, when the session has compression on. */
  readonly compressor: PayloadCompressor | undefined;
  readonly lanes = new Set<WebSocket>();
  readonly startedAt = Date.now();
  lastActive = Date.now();
  bytesReceived = 0;
  bytesSent = 0;
  /** Address of the client that opened it, for the log. */
  client = '?';
  /** True once the session ended: work still under way for it (hashing a huge file) stops. */
  ended = false;
  readonly #listing: ListingBatches;

  constructor(init: { id: string; key: string; mode: Mode; dry?: boolean; root: string; tree: LocalTree; chunk: number; compressor?: PayloadCompressor }) {
    this.id = init.id;
    this.key = init.key;
    this.mode = init.mode;
    this.dry = init.dry ?? false;
    this.root = init.root;
    this.tree = init.tree;
    this.chunk = init.chunk;
    this.compressor = init.compressor;
    this.#listing = new ListingBatches((digests) => this.tree.list({ digests })[Symbol.asyncIterator]());
  }

  /** True when the session writes into its root (an upload). */
  get writes(): boolean {
    return this.mode === 'upload' && !this.dry;
  }

  touch(): void {
    this.lastActive = Date.now();
  }

  /** Batch `seq` of the session's listing (see ListingBatches). */
  listBatch(seq: number, digests = false): Promise<ListingBatch> {
    return this.#listing.batch(seq, digests);
  }

  /** Closes lanes and files; partial files stay for a later run. */
  async end(code: number, reason: string): Promise<void> {
    this.ended = true;
    for (const ws of this.lanes) ws.close(code, reason);
    this.lanes.clear();
    await this.tree.close();
  }
}
