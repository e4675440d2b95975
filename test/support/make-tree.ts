import { createHash } from 'node:crypto';
import { chmod, mkdir, symlink, utimes, writeFile, lutimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Deterministic pseudo-random bytes (seeded), so test data is the same on every run. */
export function seededBytes(length: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let counter = 0;
  for (let offset = 0; offset < length; offset += 32) {
    const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
    block.copy(out, offset, 0, Math.min(32, length - offset));
  }
  return out;
}

export type TreeSpec = Record<
  string,
  | string
  | Buffer
  | { dir: true; mode?: number; mtime?: number }
  | { link: string }
  | { data: string | Buffer; mode?: number; mtime?: number }
>;

/**
 * Creates files, directories and symlinks from a spec. Paths ending in '/' are directories.
 * mtimes are in milliseconds.
 */
export async function makeTree(root: string, spec: TreeSpec): Promise<void> {
  await mkdir(root, { recursive: true });
  const dirMeta: [string, { mode?: number; mtime?: number }][] = [];
  for (const [path, value] of Object.entries(spec)) {
    const absolute = join(root, path);
    if (path.endsWith('/') || (typeof value === 'object' && 'dir' in value)) {
      await mkdir(absolute, { recursive: true });
      if (typeof value === 'object' && 'dir' in value) dirMeta.push([absolute, value]);
      continue;
    }
    await mkdir(dirname(absolute), { recursive: true });
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      await writeFile(absolute, value);
    } else if ('link' in value) {
      await symlink(value.link, absolute);
      await lutimes(absolute, new Date(), new Date(1_600_000_000_000));
    } else {
      await writeFile(absolute, value.data);
      if (value.mtime !== undefined) await utimes(absolute, new Date(), new Date(value.mtime));
      if (value.mode !== undefined) await chmod(absolute, value.mode);
    }
  }
  for (const [absolute, meta] of dirMeta.reverse()) {
    if (meta.mode !== undefined) await chmod(absolute, meta.mode);
    if (meta.mtime !== undefined) await utimes(absolute, new Date(), new Date(meta.mtime));
  }
}
