import { Packr } from 'msgpackr';
import { ErrorCode, ParecoError } from './errors.js';

// Plain maps on the wire (no msgpackr records), so any msgpack implementation can speak it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Encodes one frame as one msgpack value. Buffers become msgpack `bin`. */
export function encodeFrame(frame: object): Buffer {
  return packr.pack(frame);
}

/**
 * Decodes one msgpack value. `bin` fields come back as Buffers that share memory with `bytes`
 * (no copy). Anything that is not exactly one well-formed msgpack value is a PROTOCOL error.
 */
export function decodeFrame(bytes: Buffer): unknown {
  try {
    const values = packr.unpackMultiple(bytes) as unknown[];
    if (values.length !== 1) throw new Error(`${values.length} values in one message`);
    return values[0];
  } catch (error) {
    throw new ParecoError(ErrorCode.PROTOCOL, `undecodable frame: ${(error as Error).message}`, { cause: error });
  }
}
