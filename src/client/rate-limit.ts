import { ErrorCode, ParecoError } from '../../protocol/index.js';
import type { Cancellation } from '../transport/cancellation.js';

/**
 * A bandwidth limit shared by every lane (--bwlimit): each payload books the time its bytes
 * take at the rate, one after another, and waits for its turn. The first one goes at once, so
 * bursts are at most one payload and the average never exceeds the rate.
 */
export class RateLimit {
  readonly #bytesPerMs: number;
  #cursor = 0;

  constructor(bytesPerSecond: number) {
    this.#bytesPerMs = bytesPerSecond / 1000;
  }

  async take(bytes: number, cancellation?: Cancellation): Promise<void> {
    const now = performance.now();
    const start = Math.max(now, this.#cursor);
    this.#cursor = start + bytes / this.#bytesPerMs;
    if (start <= now) return;
    const waited = cancellation === undefined ? await new Promise<boolean>((resolve) => setTimeout(resolve, start - now, true)) : await cancellation.sleep(start - now);
    if (!waited) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
  }
}
