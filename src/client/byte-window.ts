/**
 * A counting semaphore over bytes: at most `capacity` bytes of chunk payload in flight across
 * all lanes. A request larger than the capacity is let through alone rather than deadlocking.
 */
export class ByteWindow {
  readonly capacity: number;
  #used = 0;
  #waiting: { bytes: number; resolve: () => void }[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  async acquire(bytes: number): Promise<void> {
    if (this.#fits(bytes) && this.#waiting.length === 0) {
      this.#used += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push({ bytes, resolve }));
  }

  /** Takes `bytes` at once, beyond the capacity if need be: for work that cannot wait (bounded otherwise). */
  take(bytes: number): void {
    this.#used += bytes;
  }

  release(bytes: number): void {
    this.#used -= bytes;
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) {
      const next = this.#waiting.shift()!;
      this.#used += next.bytes;
      next.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.capacity;
  }
}
