// Scenario data directories under data/: made by the first scenario that needs them, shared by
// the scenarios that name the same `dataKey` (C3 runs on G's 100,000 files; the S scenarios of
// one size share a destination), and removed after the last of those has run.
// Each entry also remembers whether its destination is a verified copy of its source, so a
// no-change scenario after another one need not copy or compare the whole tree again.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { rmrf } from './trees.mjs';

export const dataKeyOf = (sc) => sc.dataKey ?? sc.id;

export class ScenarioData {
  #work;
  #users = new Map();
  #entries = new Map();

  /** `selected`: every scenario of this run, to know when a directory is no longer needed. */
  constructor(work, selected) {
    this.#work = work;
    for (const sc of selected) this.#users.set(dataKeyOf(sc), (this.#users.get(dataKeyOf(sc)) ?? 0) + 1);
  }

  /**
   * The scenario's data, prepared on first use: { dir, paths: { src, dst, before }, info (what
   * prep returned), dstIsVerifiedCopy, snapshot }.
   */
  acquire(sc) {
    const key = dataKeyOf(sc);
    const known = this.#entries.get(key);
    if (known) return known;
    const dir = path.join(this.#work.data, key);
    fs.mkdirSync(dir);
    const paths = sc.paths?.(dir) ?? { src: path.join(dir, 'src'), dst: path.join(dir, 'dst'), before: path.join(dir, 'before') };
    let info;
    try {
      info = sc.prep(dir, paths);
    } catch (e) {
      rmrf(dir);
      throw e;
    }
    const entry = { dir, paths, info, dstIsVerifiedCopy: false, snapshot: null };
    this.#entries.set(key, entry);
    return entry;
  }

  /** Removes the directory once no later scenario uses it; returns the time that took. */
  release(sc) {
    const key = dataKeyOf(sc);
    const left = (this.#users.get(key) ?? 1) - 1;
    this.#users.set(key, left);
    const entry = this.#entries.get(key);
    if (left > 0 || !entry) return 0;
    this.#entries.delete(key);
    const t = performance.now();
    rmrf(entry.dir);
    return performance.now() - t;
  }
}
