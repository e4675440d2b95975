import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SnapshotEntry {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  /** mtime in whole milliseconds (symlinks: their own mtime). */
  mtime: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/**
 * Everything about a tree that a sync must reproduce: kinds, content digests, permission bits,
 * mtimes (ms) and symlink targets, keyed by relative path. The root itself is not included.
 */
export async function snapshotTree(root: string, options: { ignoreDirMtime?: boolean } = {}): Promise<Record<string, SnapshotEntry>> {
  const out: Record<string, SnapshotEntry> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(join(root, dir))).sort()) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const absolute = join(root, path);
      const st = await lstat(absolute);
      const mtime = Math.floor(st.mtimeMs);
      if (st.isDirectory()) {
        out[path] = { kind: 'dir', mode: st.mode & 0o7777, mtime: options.ignoreDirMtime ? 0 : mtime };
        await walk(path);
      } else if (st.isSymbolicLink()) {
        out[path] = { kind: 'symlink', mode: 0, mtime, target: await readlink(absolute) };
      } else if (st.isFile()) {
        const sha256 = createHash('sha256').update(await readFile(absolute)).digest('hex');
        out[path] = { kind: 'file', mode: st.mode & 0o7777, mtime, size: st.size, sha256 };
      } else {
        out[path] = { kind: 'other', mode: st.mode & 0o7777, mtime };
      }
    }
  }
  await walk('');
  return out;
}
