import { nameByteLength } from './byte-names.js';
import { ErrorCode, ParecoError } from './errors.js';

/** Longest relative path accepted from the wire, in characters (Linux PATH_MAX is 4096 bytes). */
export const MAX_PATH_LENGTH = 4096;

/**
 * Checks that a path from the wire is relative, '/'-separated and normalised: no leading '/',
 * no empty, '.' or '..' segments, no NUL, bounded lengths. The root itself is ''.
 * Returns the path, or throws BAD_PATH. Resolution against a root lives in src/fs.
 */
export function checkWirePath(path: string): string {
  if (path === '') return path;
  const problem = wirePathProblem(path);
  if (problem !== undefined) {
    throw new ParecoError(ErrorCode.BAD_PATH, `unsafe path ${JSON.stringify(path.slice(0, 200))}: ${problem}`);
  }
  return path;
}

function wirePathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes('\0')) return 'contains NUL';
  if (path.startsWith('/')) return 'is absolute';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a '${segment}' segment`;
    if (nameByteLength(segment) > 255) return 'has a name longer than 255 bytes';
  }
  return undefined;
}
