import { isUtf8 } from 'node:buffer';

/*
 * File names are bytes. Linux allows any byte but '/' and NUL in a name, and old data is full of
 * Latin-1 names that are not valid UTF-8 (`caf\xe9.txt`). Pareco keeps names as JS strings,
 * decoded from UTF-8 where the bytes are valid UTF-8, and with each byte that is not part of a
 * valid sequence kept as a lone surrogate U+DC80–U+DCFF (the byte plus 0xDC00): Python's
 * "surrogateescape" (PEP 383). The mapping is lossless both ways, a valid UTF-8 name is its
 * ordinary string, and such a string is never well-formed UTF-16, so it is easy to tell apart.
 */

const ESCAPE_BASE = 0xdc00;

/** True when the string is ordinary Unicode (no lone surrogate): its UTF-8 is its bytes. */
export function isPlainName(name: string): boolean {
  return (name as string & { isWellFormed(): boolean }).isWellFormed();
}

/** The string for a name's bytes (see above). */
export function decodeName(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  let out = '';
  let plainFrom = 0;
  for (let i = 0; i < buffer.length; ) {
    const length = validSequenceAt(buffer, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += buffer.toString('utf8', plainFrom, i) + String.fromCharCode(ESCAPE_BASE + buffer[i]!);
    i++;
    plainFrom = i;
  }
  return out + buffer.toString('utf8', plainFrom);
}

/** The bytes of a name made by decodeName (for a plain name, its UTF-8). */
export function encodeName(name: string): Buffer {
  if (isPlainName(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let plainFrom = 0;
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < name.length && isLowSurrogate(name.charCodeAt(i + 1))) {
      i++; // a valid pair: an ordinary character
      continue;
    }
    if (!isLowSurrogate(unit) && !(unit >= 0xd800 && unit <= 0xdbff)) continue;
    parts.push(Buffer.from(name.slice(plainFrom, i), 'utf8'));
    // A lone surrogate outside the escape range cannot come from decodeName; its UTF-8-like
    // bytes would be invalid, so it is written as the replacement character, as Node would.
    parts.push(unit >= 0xdc80 && unit <= 0xdcff ? Buffer.of(unit - ESCAPE_BASE) : Buffer.from('\ufffd', 'utf8'));
    plainFrom = i + 1;
  }
  parts.push(Buffer.from(name.slice(plainFrom), 'utf8'));
  return Buffer.concat(parts);
}

/** Length in bytes of a name's encoding. */
export function nameByteLength(name: string): number {
  return isPlainName(name) ? Buffer.byteLength(name, 'utf8') : encodeName(name).length;
}

/**
 * A path for node:fs: the string itself when it is plain (the common case, and the fastest),
 * else its bytes, which every node:fs call accepts in place of a string.
 */
export function fsPath(path: string): string | Buffer {
  return isPlainName(path) ? path : encodeName(path);
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Length of the strictly valid UTF-8 sequence starting at `i` (RFC 3629), or 0 when there is none. */
function validSequenceAt(bytes: Buffer, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, low = 0x80, high = 0xbf) => i + k < bytes.length && bytes[i + k]! >= low && bytes[i + k]! <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
