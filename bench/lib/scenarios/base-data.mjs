// Data shared by several scenarios: big base files generated once per run under data/_base and
// hard-linked as read-only sources, and the ways a scenario directory (src/, dst/, before/) is
// laid out from them.

import fs from 'node:fs';
import path from 'node:path';

import { T0, applyEdits, writeBigFile } from '../data.mjs';
import { sh } from '../proc.mjs';
import { link } from '../trees.mjs';

/** The big base files of this run, each written on first use. */
export function baseFiles(work, cfg) {
  const bases = new Map();
  const baseFile = (name, size, seed) => {
    const key = `${name}:${size}`;
    if (!bases.has(key)) {
      const f = path.join(work.data, '_base', `${name}.bin`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      writeBigFile(f, size, seed, T0);
      bases.set(key, f);
    }
    return bases.get(key);
  };
  return {
    big: () => baseFile('big', cfg.big, 0xa11ce),
    wan: () => baseFile('wan', cfg.eSize, 0xe0e0),
  };
}

/** src = base edited (new content at `edits`, mtime one hour later), before = the old file. */
export function prepDelta(dir, base, edits, seed) {
  const src = path.join(dir, 'src', 'data.bin');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  sh('cp', ['--reflink=auto', base, src]);
  const offsets = applyEdits(src, { ...edits, seed, mtime: T0 + 3600 });
  link(base, path.join(dir, 'before', 'data.bin'));
  for (const d of ['src', 'before']) fs.utimesSync(path.join(dir, d), T0, T0);
  return { editedBytes: offsets.length * edits.len };
}

export function prepSingle(dir, base) {
  link(base, path.join(dir, 'src', 'data.bin'));
  fs.utimesSync(path.join(dir, 'src'), T0, T0);
}
