import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeName, encodeName } from '../../protocol/byte-names.js';

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
 * mtimes (ms) and symlink targets, keyed by relative path. Names are read as bytes, so a name
 * that is not UTF-8 is its exact key (a lone surrogate per odd byte, see protocol/byte-names.ts)
 * and never two names one key. The root itself is not included.
 */
export async function snapshotTree(root: string, options: { ignoreDirMtime?: boolean } = {}): Promise<Record<string, SnapshotEntry>> {
  const out: Record<string, SnapshotEntry> = {};
  const bytes = (path: string) => Buffer.concat([Buffer.from(`${root}/`), encodeName(path)]);
  // Synchronous: a test snapshots trees of thousands of files, and a promise per call was most of its time.
  const walk = (dir: string): void => {
    const names = readdirSync(dir === '' ? root : bytes(dir), { encoding: 'buffer' }).sort(Buffer.compare).map(decodeName);
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const absolute = bytes(path);
      const st = lstatSync(absolute);
      const mtime = Math.floor(st.mtimeMs);
      if (st.isDirectory()) {
        out[path] = { kind: 'dir', mode: st.mode & 0o7777, mtime: options.ignoreDirMtime ? 0 : mtime };
        walk(path);
      } else if (st.isSymbolicLink()) {
        out[path] = { kind: 'symlink', mode: 0, mtime, target: decodeName(readlinkSync(absolute, { encoding: 'buffer' })) };
      } else if (st.isFile()) {
        const sha256 = createHash('sha256').update(readFileSync(absolute)).digest('hex');
        out[path] = { kind: 'file', mode: st.mode & 0o7777, mtime, size: st.size, sha256 };
      } else {
        out[path] = { kind: 'other', mode: st.mode & 0o7777, mtime };
      }
    }
  };
  walk('');
  return out;
}

/** The root directory's own mode and mtime (ms). */
export async function rootMeta(root: string): Promise<{ mode: number; mtime: number }> {
  const st = await lstat(join(root));
  return { mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs) };
}
