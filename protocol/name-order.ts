import { encodeName } from './byte-names.js';

/*
 * The canonical order of a listing: depth first, a directory before its contents, and the names
 * of one directory sorted by their bytes (unsigned, shorter first when one is a prefix of the
 * other). Both sides list in this order, so the client merges the two listings in one pass.
 */

/**
 * Compares two names by their bytes. JS compares strings by UTF-16 code units, which agrees
 * with the order of their UTF-8 bytes as long as neither side of the first difference is a
 * surrogate (code points above U+FFFF, and the bytes of names that are not UTF-8); only then
 * are the bytes compared.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    // Back to the start of the code point: a high surrogate just before is shared by both.
    const from = i > 0 && isHighSurrogate(a.charCodeAt(i - 1)) ? i - 1 : i;
    return Buffer.compare(encodeName(a.slice(from)), encodeName(b.slice(from)));
  }
  return a.length - b.length;
}

/**
 * Sorts a directory's names in canonical order, in place. The built-in sort (code units) is the
 * canonical order unless a name holds a surrogate; only then is the slower comparison used.
 */
export function sortNames(names: string[]): string[] {
  names.sort();
  if (names.some(hasSurrogate)) names.sort(compareNames);
  return names;
}

/**
 * Compares two relative paths in listing order: segment by segment, a directory before what it
 * holds. That is the byte order of the paths with '/' counted below every other byte ('a/b'
 * comes before 'a-c' because 'a' does). The root '' comes first.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return compareNames(segmentAt(a, i), segmentAt(b, i));
  }
  return a.length - b.length;
}

/** The rest of the segment that holds position `i`, from the start of that segment. */
function segmentAt(path: string, i: number): string {
  const start = path.lastIndexOf('/', i) + 1;
  const end = path.indexOf('/', i);
  return path.slice(start, end === -1 ? undefined : end);
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function hasSurrogate(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) return true;
  }
  return false;
}
