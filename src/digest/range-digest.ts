import type { Digest } from './registry.js';

/**
 * Digests of byte ranges built from fixed-size blocks. A range (a chunk, or a run of blocks
 * inside one) is hashed block by block, and the range's digest is the digest of its blocks'
 * digests laid end to end. So one pass over the data gives both the chunk digest, compared
 * first, and the block digests, compared only inside chunks that differ.
 */
export class RangeDigest {
  readonly block: number;
  readonly #digest: Digest;
  readonly size: number;

  constructor(digest: Digest, block: number) {
    this.#digest = digest;
    this.block = block;
    this.size = digest.size;
  }

  /** Digests of consecutive blocks of `data` (which starts on a block boundary), end to end. */
  blocks(data: Uint8Array): Buffer {
    const count = Math.ceil(data.length / this.block);
    const out = Buffer.allocUnsafe(count * this.size);
    for (let i = 0, start = 0; i < count; i++, start += this.block) {
      // A plain Uint8Array view: cheaper to make than a Buffer subarray, and all the hash needs.
      const block = new Uint8Array(data.buffer, data.byteOffset + start, Math.min(this.block, data.length - start));
      this.#digest.into(block, out, i * this.size);
    }
    return out;
  }

  /** The range digest from its block digests. */
  combine(blockDigests: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    this.#digest.into(blockDigests, out, 0);
    return out;
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
