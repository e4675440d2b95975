import { Packr } from 'msgpackr';
import { encodeName, isPlainName } from './byte-names.js';
import { ErrorCode, ParecoError } from './errors.js';
import { inflatePayload, type PayloadCompressor } from './payload-compression.js';

// Plain maps on the wire (no msgpackr records), so any msgpack implementation can speak it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Encodes one msgpack value (used for frames without a payload, and in tests). */
export function encodeFrame(frame: object): Buffer {
  return packr.pack(frame);
}

/**
 * Decodes exactly one msgpack value. `bin` fields come back as Buffers sharing memory with
 * `bytes`. Anything that is not exactly one well-formed msgpack value is a PROTOCOL error.
 */
export function decodeFrame(bytes: Buffer): unknown {
  try {
    const values = packr.unpackMultiple(bytes) as unknown[];
    if (values.length !== 1) throw new Error(`${values.length} values in one message`);
    checkPlain(values[0], 0);
    return values[0];
  } catch (error) {
    throw new ParecoError(ErrorCode.PROTOCOL, `undecodable frame: ${(error as Error).message}`, { cause: error });
  }
}

/** Deepest nesting a frame needs (a response holding a list of entries is 3). */
const MAX_DEPTH = 8;

/**
 * Accepts only what plain msgpack can carry: nil (and msgpackr's undefined), booleans, numbers, strings, bin, arrays and
 * string-keyed maps. msgpackr would also decode its extensions (Date, RegExp, Set, Error,
 * records) and the reserved byte 0xc1; none of them belongs in a Pareco frame.
 */
function checkPlain(value: unknown, depth: number): void {
  if (value === null || value === undefined || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return;
  if (value instanceof Uint8Array) return;
  if (depth >= MAX_DEPTH) throw new Error('nested too deeply');
  if (Array.isArray(value)) {
    for (const item of value) checkPlain(item, depth + 1);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) checkPlain(item, depth + 1);
    return;
  }
  throw new Error('not a plain msgpack value');
}

/**
 * The WebSocket messages for one frame. A frame with a `data` payload (write, data) becomes two
 * messages: the msgpack frame with `len` in place of `data`, then the raw payload. Packing the
 * payload as msgpack `bin` would copy every chunk once more on the sender and, as a fragmented
 * message, once more on the receiver; as its own message it goes from the file to the socket
 * and from the socket to the file untouched. With a compressor (a session with compression on),
 * the payload is zstd's output when that is smaller, and the frame says `raw` (its size before).
 */
export function encodeMessages(frame: object, compressor?: PayloadCompressor): Buffer[] {
  const wire = withWireNames(frame);
  const { data, ...header } = wire as { data?: unknown };
  if (!(data instanceof Uint8Array)) return [packr.pack(wire)];
  // Compressed when the session agreed to it and it pays: `raw` is then the payload's size.
  const compressed = compressor?.compress(data);
  if (compressed !== undefined) return [packr.pack({ ...header, len: compressed.length, raw: data.length }), compressed];
  return [packr.pack({ ...header, len: data.length }), Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
}

/**
 * Reassembles frames from the messages of one connection (they arrive in order). Returns the
 * decoded frame, with `data` attached for split frames, or undefined while a payload is due.
 */
export class MessageDecoder {
  readonly #maxPayload: () => number;
  #pending: Record<string, unknown> | undefined;

  /** `maxPayload` is read for each split frame, as a session's chunk size is learnt late. */
  constructor(maxPayload: () => number) {
    this.#maxPayload = maxPayload;
  }

  decode(message: Buffer): unknown {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      if (message.length !== pending.len) {
        throw new ParecoError(ErrorCode.PROTOCOL, `payload of ${message.length} bytes where ${String(pending.len)} were announced`);
      }
      delete pending.len;
      const raw = pending.raw;
      delete pending.raw;
      pending.data = raw === undefined ? message : inflatePayload(message, raw as number);
      return pending;
    }
    const frame = decodeFrame(message);
    if (typeof frame === 'object' && frame !== null && !Array.isArray(frame) && 'len' in frame) {
      const len = (frame as { len: unknown }).len;
      const max = this.#maxPayload();
      if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0 || len > max) {
        throw new ParecoError(ErrorCode.PROTOCOL, `malformed frame: len must be an integer from 0 to ${max}`);
      }
      if ('data' in frame) throw new ParecoError(ErrorCode.PROTOCOL, 'malformed frame: both len and data');
      const raw = (frame as { raw?: unknown }).raw;
      if (raw !== undefined && (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0 || raw > max)) {
        throw new ParecoError(ErrorCode.PROTOCOL, `malformed frame: raw must be an integer from 0 to ${max}`);
      }
      this.#pending = frame as Record<string, unknown>;
      return undefined;
    }
    return frame;
  }
}

/** A name as it travels: a string when it is valid UTF-8, else its bytes as msgpack `bin`. */
function wireName(name: unknown): unknown {
  return typeof name === 'string' && !isPlainName(name) ? encodeName(name) : name;
}

function hasOddName(item: { path?: unknown; target?: unknown }): boolean {
  return (typeof item.path === 'string' && !isPlainName(item.path)) || (typeof item.target === 'string' && !isPlainName(item.target));
}

function withWireName<T extends { path?: unknown; target?: unknown }>(item: T): T {
  return hasOddName(item) ? { ...item, path: wireName(item.path), ...(item.target === undefined ? {} : { target: wireName(item.target) }) } : item;
}

/**
 * The frame with every name that is not valid UTF-8 as `bin` (see byte-names.ts): the `path`
 * and `target` of the frame, of its `entry`, and of the items of `entries` and `files`. Frames
 * whose names are all plain (nearly all) are returned as they are, without a copy.
 */
function withWireNames(frame: object): object {
  const f = frame as { path?: unknown; target?: unknown; entry?: unknown; entries?: unknown; files?: unknown };
  let out = withWireName(f);
  for (const field of ['entries', 'files'] as const) {
    const items = f[field];
    if (Array.isArray(items) && items.some((item: object) => hasOddName(item))) {
      out = { ...out, [field]: items.map((item: object) => withWireName(item)) };
    }
  }
  if (typeof f.entry === 'object' && f.entry !== null && hasOddName(f.entry)) out = { ...out, entry: withWireName(f.entry) };
  return out;
}
