import type { DigestFn } from './registry.js';

/**
 * Digests of byte ranges built from fixed-size blocks. A range (a chunk, or a run of blocks
 * inside one) is hashed block by block, and the range's digest is the digest of its blocks'
 * digests laid end to end. So one pass over the data gives both the chunk digest, compared
 * first, and the block digests, compared only inside chunks that differ.
 */
export class RangeDigest {
  readonly block: number;
  readonly #digest: DigestFn;
  readonly size: number;

  constructor(digest: DigestFn, block: number) {
    this.#digest = digest;
    this.block = block;
    this.size = digest(Buffer.alloc(0)).length;
  }

  /** Digests of consecutive blocks of `data` (which starts on a block boundary), end to end. */
  blocks(data: Uint8Array): Buffer {
    const count = Math.ceil(data.length / this.block);
    const out = Buffer.allocUnsafe(count * this.size);
    for (let i = 0; i < count; i++) {
      this.#digest(data.subarray(i * this.block, (i + 1) * this.block)).copy(out, i * this.size);
    }
    return out;
  }

  /** The range digest from its block digests. */
  combine(blockDigests: Uint8Array): Buffer {
    return this.#digest(blockDigests);
  }

  /** The digest of a range that starts on a block boundary. */
  of(data: Uint8Array): Buffer {
    return this.combine(this.blocks(data));
  }

  /** Block `i`'s digest out of a list made by `blocks`. */
  at(blockDigests: Buffer, i: number): Buffer | undefined {
    const start = i * this.size;
    return start + this.size <= blockDigests.length ? blockDigests.subarray(start, start + this.size) : undefined;
  }
}
