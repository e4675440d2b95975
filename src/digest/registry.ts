import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import xxhash from 'xxhash-wasm';
import type { HashName } from '../../protocol/index.js';

/** Computes the digest of one chunk. Digests are compared as bytes, never as numbers. */
export type DigestFn = (data: Uint8Array) => Buffer;

let xxhashReady: ReturnType<typeof xxhash> | undefined;

function uint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function cryptoDigest(algorithm: string): DigestFn {
  return (data) => createHash(algorithm).update(data).digest();
}

/**
 * Returns the digest function for a hash name. xxh64 (the default) and xxh32 come from
 * xxhash-wasm, loaded once; crc32 from zlib; the rest from node:crypto.
 */
export async function loadDigest(name: HashName): Promise<DigestFn> {
  switch (name) {
    case 'xxh64': {
      const { h64Raw } = await (xxhashReady ??= xxhash());
      return (data) => {
        const out = Buffer.allocUnsafe(8);
        out.writeBigUInt64BE(h64Raw(data));
        return out;
      };
    }
    case 'xxh32': {
      const { h32Raw } = await (xxhashReady ??= xxhash());
      return (data) => uint32(h32Raw(data));
    }
    case 'crc32':
      return (data) => uint32(crc32(data));
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512':
      return cryptoDigest(name);
  }
}
