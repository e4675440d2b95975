// S's source trees: N small files (0–200 B) laid out like a real project tree, generated once
// and kept between bench runs under --scale-dir (default $TMPDIR/pareco-bench-scale), each size
// in files-N/src with a marker (files-N/complete.json) written last: a tree without its marker,
// or from an older layout, is generated again.
// Layout: 1,000 files per leaf directory, leaves three levels down (top-NN/mid-N/leaf-N); in
// every tenth leaf a quarter of the files sit four levels deeper still (deep/er/still/nested).
// Written synchronously in a tight loop (open, write, futimes, close): no fsync, nothing async.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { T0, fillRandom, randInt, rng } from '../data.mjs';
import { fmtS } from '../format.mjs';
import { log } from '../log.mjs';
import { rmrf } from '../trees.mjs';

const LAYOUT = 1; // bump when the layout changes, so that kept trees are made again
const PER_LEAF = 1000;
const EXTENSIONS = ['.txt', '.json', '.log', '.csv', '.dat', '.md', '.js', '.yaml'];

function leafDir(src, leaf) {
  return path.join(src, `top-${String(Math.floor(leaf / 100)).padStart(2, '0')}`, `mid-${Math.floor(leaf / 10) % 10}`, `leaf-${leaf % 10}`);
}

function generate(src, files) {
  const r = rng(0x5ca1e ^ files);
  const buf = Buffer.allocUnsafe(200);
  const dirs = new Set();
  const mkdir = (d) => {
    if (!dirs.has(d)) {
      fs.mkdirSync(d, { recursive: true });
      dirs.add(d);
    }
  };
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const leaf = Math.floor(i / PER_LEAF);
    let dir = leafDir(src, leaf);
    if (leaf % 10 === 3 && i % 4 === 0) dir = path.join(dir, 'deep', 'er', 'still', 'nested');
    mkdir(dir);
    const size = randInt(r, 0, 200);
    if (size) fillRandom(buf.subarray(0, size), r);
    const t = T0 + (i % 86400);
    const fd = fs.openSync(path.join(dir, `f-${String(i).padStart(7, '0')}${EXTENSIONS[i % EXTENSIONS.length]}`), 'w', 0o644);
    if (size) fs.writeSync(fd, buf, 0, size);
    fs.futimesSync(fd, t, t);
    fs.closeSync(fd);
    bytes += size;
  }
  // Directory mtimes last: every file created in them moved them.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let p = d; p.length >= src.length; p = path.dirname(p)) fs.utimesSync(p, T0, T0);
  }
  return bytes;
}

/** { src, files, bytes }: the kept tree of `files` files, generated when missing. */
export function scaleTree(scaleDir, files) {
  const root = path.join(scaleDir, `files-${files}`);
  const marker = path.join(root, 'complete.json');
  const src = path.join(root, 'src');
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    if (m.layout === LAYOUT && m.files === files) return { src, files, bytes: m.bytes };
  } catch { /* missing or unreadable: make it */ }
  log(`bench: generating ${files.toLocaleString('en')} files under ${root} (kept for later runs) …`);
  const t = performance.now();
  rmrf(root);
  fs.mkdirSync(src, { recursive: true });
  const bytes = generate(src, files);
  fs.writeFileSync(marker, `${JSON.stringify({ layout: LAYOUT, files, bytes, made: new Date().toISOString() })}\n`);
  log(`bench: ${files.toLocaleString('en')} files generated in ${fmtS(performance.now() - t)}s`);
  return { src, files, bytes };
}
