import { createRequire } from 'node:module';
import { ErrorCode, ParecoError } from './errors.js';

/** The part of zstd-napi's native binding used here: one-shot (de)compression into our buffers. */
interface ZstdBinding {
  CCtx: new () => { setParameter(parameter: number, value: number): void; compress2(dst: Uint8Array, src: Uint8Array): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  CParameter: { compressionLevel: number };
  compressBound(size: number): number;
}

let binding: ZstdBinding | null | undefined;

/** zstd, loaded on first use (`zstd-napi`: native, prebuilt); null when it cannot be loaded here. */
function zstd(): ZstdBinding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
    } catch {
      binding = null;
    }
  }
  return binding;
}

/** True when this process can compress and decompress payloads. */
export function compressionAvailable(): boolean {
  return zstd() !== null;
}

/** Compression levels a session may ask for (zstd's; higher is smaller and slower). */
export const COMPRESSION_LEVELS = { min: 1, max: 19, default: 3 };

/** Payloads shorter than this are sent as they are: a frame header costs more than they would save. */
const MIN_COMPRESSED = 512;

/**
 * Compresses the payloads of one side of a session. A payload that does not shrink by at least
 * 1/32 (already compressed data: media, archives, most database pages of TOASTed values) is sent
 * as it is, so compressing incompressible data costs only the attempt.
 */
export class PayloadCompressor {
  readonly #cctx: InstanceType<ZstdBinding['CCtx']>;
  readonly #zstd: ZstdBinding;

  constructor(level: number) {
    const z = zstd();
    if (z === null) throw new Error('zstd is not available in this installation (check compressionAvailable() first)');
    this.#zstd = z;
    this.#cctx = new z.CCtx();
    this.#cctx.setParameter(z.CParameter.compressionLevel, level);
  }

  /** The compressed payload, or undefined when it would not be worth it. */
  compress(data: Uint8Array): Buffer | undefined {
    if (data.length < MIN_COMPRESSED) return undefined;
    const out = Buffer.allocUnsafe(this.#zstd.compressBound(data.length));
    const size = this.#cctx.compress2(out, data);
    return size <= data.length - data.length / 32 ? out.subarray(0, size) : undefined;
  }
}

let dctx: InstanceType<ZstdBinding['DCtx']> | undefined;

/**
 * Decompresses a payload announced as `raw` bytes (already checked against the session's
 * limits): exactly that many, or a PROTOCOL error. The output buffer is allocated at `raw`
 * bytes, so a payload that would expand beyond it (a decompression bomb) fails instead.
 */
export function inflatePayload(data: Buffer, raw: number): Buffer {
  const z = zstd();
  if (z === null) throw new ParecoError(ErrorCode.PROTOCOL, 'a compressed payload arrived, but zstd is not available here');
  dctx ??= new z.DCtx();
  const out = Buffer.allocUnsafe(raw);
  let size: number;
  try {
    size = dctx.decompress(out, data);
  } catch (error) {
    throw new ParecoError(ErrorCode.PROTOCOL, `compressed payload cannot be decompressed: ${(error as Error).message}`, { cause: error });
  }
  if (size !== raw) throw new ParecoError(ErrorCode.PROTOCOL, `compressed payload holds ${size} bytes where ${raw} were announced`);
  return out;
}
