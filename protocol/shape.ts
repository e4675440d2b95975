import { decodeName, isPlainName } from './byte-names.js';
import { ErrorCode, ParecoError } from './errors.js';

/**
 * Small runtime shape checks for decoded frames. Each returns the value typed, or throws a
 * PROTOCOL error naming the frame type and field, so a malformed frame is always one clear error.
 */
export type Fields = Record<string, unknown>;

function fail(frame: string, field: string, expected: string): never {
  throw new ParecoError(ErrorCode.PROTOCOL, `malformed ${frame} frame: ${field} must be ${expected}`);
}

export function str(f: Fields, frame: string, field: string, maxLength = 4096): string {
  const v = f[field];
  if (typeof v !== 'string' || v.length > maxLength) fail(frame, field, `a string of at most ${maxLength} characters`);
  return v;
}

export function optStr(f: Fields, frame: string, field: string, maxLength = 4096): string | undefined {
  return f[field] === undefined ? undefined : str(f, frame, field, maxLength);
}

/** A non-negative safe integer not above `max`. */
export function uint(f: Fields, frame: string, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = f[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    fail(frame, field, `an integer from 0 to ${max}`);
  }
  return v;
}

/** A finite number (mtimes are milliseconds with a fraction, and may precede 1970). */
export function num(f: Fields, frame: string, field: string): number {
  const v = f[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(frame, field, 'a finite number');
  return v;
}

export function bool(f: Fields, frame: string, field: string): boolean {
  const v = f[field];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(frame, field, 'a boolean');
  return v;
}

export function bin(f: Fields, frame: string, field: string, maxLength: number): Buffer {
  const v = f[field];
  if (!(v instanceof Uint8Array) || v.length > maxLength) fail(frame, field, `binary of at most ${maxLength} bytes`);
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function oneOf<T extends string>(f: Fields, frame: string, field: string, values: readonly T[]): T {
  const v = f[field];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(frame, field, `one of ${values.join(', ')}`);
  return v as T;
}

export function list<T>(
  f: Fields,
  frame: string,
  field: string,
  maxItems: number,
  item: (value: unknown, index: number) => T,
): T[] {
  const v = f[field];
  if (!Array.isArray(v) || v.length > maxItems) fail(frame, field, `a list of at most ${maxItems} items`);
  return v.map(item);
}

export function record(value: unknown, frame: string, field: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    fail(frame, field, 'a map');
  }
  return value as Fields;
}

/**
 * A file name or path: a string of valid UTF-8, or `bin` for one that is not (decoded as in
 * byte-names.ts). A string must be well-formed: names that are not UTF-8 have one form only.
 */
export function name(f: Fields, frame: string, field: string, maxBytes = 4 * 4096): string {
  const v = f[field];
  if (typeof v === 'string') {
    if (v.length > maxBytes || Buffer.byteLength(v) > maxBytes) fail(frame, field, `a name of at most ${maxBytes} bytes`);
    if (!isPlainName(v)) fail(frame, field, 'valid Unicode (a name that is not UTF-8 travels as bin)');
    return v;
  }
  if (v instanceof Uint8Array) {
    if (v.length > maxBytes) fail(frame, field, `a name of at most ${maxBytes} bytes`);
    return decodeName(v);
  }
  return fail(frame, field, 'a string or binary name');
}

export function optName(f: Fields, frame: string, field: string, maxBytes?: number): string | undefined {
  return f[field] === undefined ? undefined : name(f, frame, field, maxBytes);
}
