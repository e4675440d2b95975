/**
 * Cancels any number of waits and connection attempts with one abort listener. Giving each of
 * them a listener on the user's AbortSignal piled up listeners (one per lane reconnecting, one
 * per payload waiting for --bwlimit) until Node warned about a leak; here each wait registers a
 * callback in a set and takes it out again when it ends, and the signal has one listener.
 */
export class Cancellation {
  readonly #callbacks = new Set<() => void>();
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.cancel();
  #cancelled = false;

  /** Cancelled when `signal` aborts (if given), or by cancel(). Call dispose() when done. */
  constructor(signal?: AbortSignal) {
    this.#signal = signal;
    if (signal?.aborted) this.#cancelled = true;
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Callbacks registered now (for tests: they must not pile up). */
  get pending(): number {
    return this.#callbacks.size;
  }

  /** Calls `callback` on cancellation (at once if already cancelled); returns its unregistration. */
  onCancel(callback: () => void): () => void {
    if (this.#cancelled) {
      callback();
      return () => {};
    }
    this.#callbacks.add(callback);
    return () => this.#callbacks.delete(callback);
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    const callbacks = [...this.#callbacks];
    this.#callbacks.clear();
    for (const callback of callbacks) callback();
  }

  /** Waits `ms`; resolves true when the time passed, false when cancelled first. */
  sleep(ms: number): Promise<boolean> {
    if (this.#cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unregister();
        resolve(true);
      }, ms);
      const unregister = this.onCancel(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Stops listening to the signal. */
  dispose(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
