import { createHash } from 'node:crypto';
import { encodeName, nameByteLength } from '../../protocol/index.js';

const SUFFIX = '.pareco-partial';
/** Suffix of hashed partial names, which cannot be mapped back to their target. */
const HASHED_SUFFIX = '.pareco-partial-h';
const NAME_MAX = 255;

/**
 * Name of the partial file that receives a file's data before it is renamed into place: hidden,
 * beside the target (same file system, so the rename is atomic), recognisable by its suffix.
 * Names too long for the suffix get a hashed name instead.
 */
export function partialName(name: string): string {
  const plain = `.${name}${SUFFIX}`;
  if (nameByteLength(plain) <= NAME_MAX) return plain;
  return `.${createHash('sha256').update(encodeName(name)).digest('hex').slice(0, 32)}${HASHED_SUFFIX}`;
}

/** True for names made by partialName: scans skip them, so they never look like user files. */
export function isPartialName(name: string): boolean {
  if (!name.startsWith('.')) return false;
  const suffix = name.endsWith(SUFFIX) ? SUFFIX : name.endsWith(HASHED_SUFFIX) ? HASHED_SUFFIX : undefined;
  return suffix !== undefined && name.length > suffix.length + 1;
}

/** The target name a partial name stands for, or undefined for hashed (overlong) names. */
export function targetOfPartialName(name: string): string | undefined {
  if (!isPartialName(name) || !name.endsWith(SUFFIX)) return undefined;
  const target = name.slice(1, -SUFFIX.length);
  return partialName(target) === name ? target : undefined;
}
