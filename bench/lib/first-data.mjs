// When the first file's data reaches a destination tree: the first regular file (final name, or
// Pareco's partial / rsync's temporary name) created anywhere under it. Measured the same way
// for both tools from the outside, with inotify (fs.watch on each directory as it appears; a
// new directory is listed once after its watch is set, so a file created before that is seen
// too, a moment late at worst). Every watch is dropped at the first file, so the rest of the
// run pays nothing.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export function watchFirstData(root) {
  const watchers = new Map();
  let firstAt = null;

  const stopAll = () => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
  const found = () => {
    if (firstAt !== null) return;
    firstAt = performance.now();
    stopAll();
  };
  const consider = (abs) => {
    if (firstAt !== null) return;
    let st;
    try { st = fs.lstatSync(abs); } catch { return; } // renamed or gone already
    if (st.isDirectory()) addDir(abs);
    else if (st.isFile()) found();
  };
  function addDir(dir) {
    if (firstAt !== null || watchers.has(dir)) return;
    let w;
    try {
      w = fs.watch(dir, (event, name) => { if (name) consider(path.join(dir, name.toString())); });
    } catch {
      return;
    }
    w.on('error', () => {});
    watchers.set(dir, w);
    let names = [];
    try { names = fs.readdirSync(dir); } catch { /* gone */ }
    for (const n of names) consider(path.join(dir, n));
  }

  addDir(root);
  return {
    /** performance.now() of the first file, or null. */
    firstAt: () => firstAt,
    stop: stopAll,
  };
}
