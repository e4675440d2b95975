import { realpath } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

/** True when `path` is `root` or lies inside it (both normalised real paths). */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The real path `path` has or will have once created: the real path of its nearest existing
 * ancestor, with the missing components appended. Symlinks on the way are resolved, so a
 * link pointing out of a root is caught before anything is created.
 */
export async function eventualRealPath(path: string): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw error;
      missing.push(basename(current));
      current = dirname(current);
    }
  }
}
