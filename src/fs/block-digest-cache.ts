/**
 * Block digests computed while hashing whole chunks, kept so that a later request for the
 * blocks of a differing chunk needs no second read. Bounded by bytes; the least recently
 * hashed file goes first. 8-byte digests of 8 KiB blocks are 1/1024 of the data, so the default
 * 32 MiB covers 32 GiB of recently compared files.
 */
export class BlockDigestCache {
  /** Lookups by every cache of the process, for the server's metrics. */
  static readonly lookups = { hits: 0, misses: 0 };
  readonly #budget: number;
  readonly #files = new Map<string, Map<number, Buffer>>();
  #bytes = 0;

  constructor(budget = 32 * 1024 * 1024) {
    this.#budget = budget;
  }

  get(path: string, chunk: number): Buffer | undefined {
    const digests = this.#files.get(path)?.get(chunk);
    if (digests === undefined) BlockDigestCache.lookups.misses++;
    else BlockDigestCache.lookups.hits++;
    return digests;
  }

  set(path: string, chunk: number, digests: Buffer): void {
    let file = this.#files.get(path);
    if (file === undefined) this.#files.set(path, (file = new Map()));
    const old = file.get(chunk);
    if (old !== undefined) this.#bytes -= old.length;
    file.set(chunk, digests);
    this.#bytes += digests.length;
    for (const oldest of this.#files.keys()) {
      if (this.#bytes <= this.#budget || oldest === path) break;
      this.forget(oldest);
    }
  }

  /** Drops one chunk's digests: call when that chunk is written. */
  forgetChunk(path: string, chunk: number): void {
    const file = this.#files.get(path);
    const old = file?.get(chunk);
    if (old === undefined) return;
    this.#bytes -= old.length;
    file!.delete(chunk);
  }

  /** Drops a file's digests: call when the file is replaced or removed. */
  forget(path: string): void {
    const file = this.#files.get(path);
    if (file === undefined) return;
    for (const digests of file.values()) this.#bytes -= digests.length;
    this.#files.delete(path);
  }
}
