import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import xxhash from 'xxhash-wasm';
import type { HashName } from '../../protocol/index.js';

/**
 * A digest algorithm. Digests are compared as bytes, never as numbers. `into` writes a digest
 * straight into a larger buffer: block digests are computed by the hundred thousand per GiB,
 * and a fresh 8-byte Buffer for each was a tenth of the hashing time (allocation and GC).
 */
export interface Digest {
  /** Length of a digest in bytes. */
  readonly size: number;
  /** Writes the digest of `data` into `out` at `offset`. */
  into(data: Uint8Array, out: Buffer, offset: number): void;
}

let xxhashReady: ReturnType<typeof xxhash> | undefined;

/** The native xxhash (@node-rs/xxhash, prebuilt for the common platforms), or null where it does not load. */
interface NativeXxhash {
  xxh64(input: Uint8Array): bigint;
  xxh32(input: Uint8Array): number;
}
let native: NativeXxhash | null | undefined;

function nativeXxhash(): NativeXxhash | null {
  if (native === undefined) {
    try {
      native = createRequire(import.meta.url)('@node-rs/xxhash') as NativeXxhash;
    } catch {
      native = null;
    }
  }
  return native;
}

/**
 * A DataView of `out`, the last one made kept: a chunk's 128 block digests go into one buffer, and
 * DataView's setBigUint64 is a V8 builtin where Buffer's writeBigUInt64BE is JavaScript
 * arithmetic on the BigInt (a tenth of the hashing time of 8 KiB blocks).
 */
let lastOut: Buffer | undefined;
let lastView: DataView | undefined;
function viewOf(out: Buffer): DataView {
  if (out !== lastOut || lastView === undefined) {
    lastOut = out;
    lastView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }
  return lastView;
}

/** A 64-bit hash as a Digest: written big-endian, as every digest is compared as bytes. */
function digest64(hash: (data: Uint8Array) => bigint): Digest {
  return { size: 8, into: (data, out, offset) => viewOf(out).setBigUint64(offset, hash(data)) };
}

function cryptoDigest(algorithm: string, size: number): Digest {
  return { size, into: (data, out, offset) => void createHash(algorithm).update(data).digest().copy(out, offset) };
}

/**
 * Returns the digest algorithm for a hash name. xxh64 (the default) and xxh32 come from the
 * native @node-rs/xxhash where it loads (twice as fast as WebAssembly here: nothing is copied
 * into wasm memory), else from xxhash-wasm, loaded once — the same digests either way; crc32
 * from zlib; the rest from node:crypto. `wasm`: use xxhash-wasm even where the native one loads.
 */
export async function loadDigest(name: HashName, options: { wasm?: boolean } = {}): Promise<Digest> {
  const fast = options.wasm === true ? null : nativeXxhash();
  switch (name) {
    case 'xxh64': {
      if (fast !== null) return digest64((data) => fast.xxh64(data));
      const { h64Raw } = await (xxhashReady ??= xxhash());
      return digest64(h64Raw);
    }
    case 'xxh32': {
      if (fast !== null) return { size: 4, into: (data, out, offset) => void out.writeUInt32BE(fast.xxh32(data) >>> 0, offset) };
      const { h32Raw } = await (xxhashReady ??= xxhash());
      return { size: 4, into: (data, out, offset) => void out.writeUInt32BE(h32Raw(data) >>> 0, offset) };
    }
    case 'crc32':
      return { size: 4, into: (data, out, offset) => void out.writeUInt32BE(crc32(data) >>> 0, offset) };
    case 'md5':
      return cryptoDigest(name, 16);
    case 'sha1':
      return cryptoDigest(name, 20);
    case 'sha256':
      return cryptoDigest(name, 32);
    case 'sha512':
      return cryptoDigest(name, 64);
  }
}
