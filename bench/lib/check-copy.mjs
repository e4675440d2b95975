// The check after every run: the destination must equal the source (see verify.mjs), and the
// --corrupt self-test that proves the check can fail.

import fs from 'node:fs';
import path from 'node:path';

import { log } from './log.mjs';
import { RunError } from './runs/run-error.mjs';
import { compareTrees } from './verify.mjs';

/** Flips one byte in the middle of the biggest destination file, keeping its mtime. */
function corruptOne(dst) {
  let best = null;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        if (!best || st.size > best.st.size) best = { p, st };
      }
    }
  };
  walk(dst);
  if (!best || best.st.size === 0) return;
  const off = Math.floor(best.st.size / 2);
  const fd = fs.openSync(best.p, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, off);
  b[0] ^= 0x01;
  fs.writeSync(fd, b, 0, 1, off);
  fs.closeSync(fd);
  fs.utimesSync(best.p, best.st.atime, best.st.mtime);
  log(`[self-test] flipped the byte at ${off} of ${best.p}`);
}

/** Throws a RunError naming the first differences when `paths.dst` is not a copy of `paths.src`. */
export function checkCopy(opts, paths, who, rep, snapshot) {
  if (opts.corrupt === who && rep === 1) corruptOne(paths.dst);
  const problem = compareTrees(paths.src, paths.dst, { snapshot });
  if (problem) throw new RunError(`WRONG COPY after ${who} run ${rep}: ${problem}`);
}
