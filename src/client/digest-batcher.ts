import { ErrorCode, LIMITS, ParecoError } from '../../protocol/index.js';
import type { DigestList } from '../fs/tree.js';
import type { LanePool } from './lane-pool.js';

interface Waiting {
  path: string;
  count: number;
  resolve: (digests: DigestList) => void;
  reject: (error: unknown) => void;
}

/** A batch this big goes at once, so the server starts hashing while the client still does. */
const EAGER_BATCH = 16;

/**
 * Collects the digest requests of small files (one chunk or none) made in the same turn of the
 * event loop and sends them as one `hashmany`: with many small files the cost is per request,
 * not per byte. Batches go out as soon as they hold EAGER_BATCH files; without that, client and
 * server took turns (measured: 2.0 s instead of 0.9 s for 20,000 unchanged small files).
 */
export class DigestBatcher {
  readonly #pool: LanePool;
  #queue: Waiting[] = [];
  #scheduled = false;

  constructor(pool: LanePool) {
    this.#pool = pool;
  }

  digests(path: string, count: number): Promise<DigestList> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ path, count, resolve, reject });
      if (this.#queue.length >= EAGER_BATCH) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue.splice(0, LIMITS.hashManyFiles);
    if (batch.length === 0) return;
    if (this.#queue.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    const files = batch.map(({ path, count }) => ({ path, from: 0, count }));
    this.#pool.request({ t: 'hashmany', files }, 'hashmany').then(
      (response) => {
        batch.forEach((waiting, i) => {
          const result = response.files[i];
          if (result === undefined) waiting.reject(new ParecoError(ErrorCode.PROTOCOL, `no digest answer for ${waiting.path}`));
          else if ('code' in result) waiting.reject(new ParecoError(result.code, result.message));
          else waiting.resolve(result);
        });
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
  }
}
