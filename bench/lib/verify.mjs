// Checks that a destination tree equals the source: the same entries (types), and for regular
// files the same size, permission bits, mtime (to the microsecond, ±1: see MTIME_SLACK_US) and content. Big files are
// compared with `cmp`, small ones in process. A file whose inode and ctime are unchanged since a
// snapshot that was itself verified (see snapshotTree) is known to hold the same content and is
// not read again (keeps the 100,000-file no-change scenario cheap to check).

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(root) {
  const out = new Map();
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop();
    const abs = rel ? path.join(root, rel) : root;
    for (const ent of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const st = fs.lstatSync(path.join(root, r), { bigint: true });
      const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : 'o';
      out.set(r, { type, size: st.size, mtimeUs: st.mtimeNs / 1000n, mode: Number(st.mode & 0o7777n), ino: st.ino, ctimeNs: st.ctimeNs });
      if (type === 'd') stack.push(r);
    }
  }
  return out;
}

export function snapshotTree(root) {
  return walk(root);
}

const CMP_THRESHOLD = 4 * 1024 * 1024;
// Node's utimes takes seconds as a double: at today's epoch (~1.8e9 s) that resolves ~0.5 µs,
// so a tool written in Node cannot set a nanosecond mtime (real files, e.g. PostgreSQL's) to
// the exact microsecond. A copy off by less than that is still a copy; seconds or ms are not.
const MTIME_SLACK_US = 1n;
const absDiff = (a, b) => (a > b ? a - b : b - a);

function sameContent(a, b, size) {
  if (size >= CMP_THRESHOLD) {
    const r = spawnSync('cmp', ['-s', a, b]);
    if (r.error) throw r.error;
    return r.status === 0;
  }
  const x = fs.readFileSync(a);
  const y = fs.readFileSync(b);
  return x.equals(y);
}

/**
 * Returns null when `dst` equals `src`, else a short description of the first differences.
 * `snapshot`: a snapshotTree(dst) taken when dst was known to equal src.
 */
export function compareTrees(src, dst, { snapshot } = {}) {
  if (!fs.existsSync(dst)) return `destination ${dst} does not exist`;
  const a = walk(src);
  const b = walk(dst);
  const problems = [];
  const add = (p) => { if (problems.length < 8) problems.push(p); };
  for (const [rel, sa] of a) {
    const sb = b.get(rel);
    if (!sb) { add(`missing ${rel}`); continue; }
    if (sa.type !== sb.type) { add(`type differs ${rel}: ${sa.type} vs ${sb.type}`); continue; }
    if (sa.type !== 'f') continue;
    if (sa.size !== sb.size) { add(`size differs ${rel}: ${sa.size} vs ${sb.size}`); continue; }
    if (absDiff(sa.mtimeUs, sb.mtimeUs) > MTIME_SLACK_US) add(`mtime differs ${rel}: ${sa.mtimeUs} vs ${sb.mtimeUs} µs`);
    if ((sa.mode & 0o777) !== (sb.mode & 0o777)) add(`mode differs ${rel}: ${(sa.mode & 0o777).toString(8)} vs ${(sb.mode & 0o777).toString(8)}`);
    const snap = snapshot?.get(rel);
    if (snap && snap.ino === sb.ino && snap.ctimeNs === sb.ctimeNs && snap.size === sb.size) continue;
    if (!sameContent(path.join(src, rel), path.join(dst, rel), Number(sa.size))) add(`content differs ${rel}`);
  }
  for (const rel of b.keys()) if (!a.has(rel)) add(`unexpected ${rel}`);
  return problems.length ? problems.join('; ') : null;
}
