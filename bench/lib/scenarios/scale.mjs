// S (--scale): many small files, at 10,000, 100,000 and 1,000,000 files (quick: 1,000 / 10,000 /
// 100,000), each size against the rsync daemon: a fresh copy (where the first file's arrival is
// timed too), then no change with --skip-digest, then no change in the default digest mode
// (after an untimed warm-up run, so the digest cache is warm). The three scenarios of one size
// share a destination; the source trees are kept between runs (scale-data.mjs). The peak RSS of
// client and server at each size is the series that shows whether memory stays flat.

import path from 'node:path';

import { scaleTree } from './scale-data.mjs';

const MEM150 = 150 * 1024;
const sizeLabel = (n) => (n >= 1e6 ? `${n / 1e6}m` : n >= 1e3 ? `${n / 1e3}k` : String(n));

export function scaleScenarios(cfg, opts) {
  const largest = Math.max(...cfg.scaleSizes);
  const list = [];
  for (const files of cfg.scaleSizes) {
    const tag = sizeLabel(files);
    const common = {
      flag: 'scale', scale: { files }, dir: 'upload', dataKey: `S-${tag}`,
      // A million-file run is long: one repetition unless --reps says otherwise, and a long timeout.
      reps: opts.reps ?? (files >= 1e6 ? 1 : cfg.reps), budgetS: Math.max(cfg.scenarioBudgetS, files / 1000), timeoutS: Math.max(cfg.timeoutS, files / 500),
      paths: (dir) => ({ src: scaleTree(cfg.scaleDir, files).src, dst: path.join(dir, 'dst') }),
      prep: (dir, paths) => ({ fileBytes: scaleTree(cfg.scaleDir, files).bytes }),
    };
    const n = files.toLocaleString('en');
    list.push(
      {
        ...common, id: `S-fresh-${tag}`, kind: 'fresh', firstData: true,
        title: `${n} files of 0–200 B in a project-like tree, fresh copy: Pareco vs rsync -a`,
        target: { ratio: 1.0, rssKiB: MEM150, ...(files === largest ? { firstDataMs: 1000 } : {}) },
      },
      {
        ...common, id: `S-skip-${tag}`, kind: 'nochange', snapshotVerify: true, parecoArgs: ['--skip-digest'],
        title: `${n} files, no change: Pareco --skip-digest vs rsync -a`,
        target: { ratio: 1.0, rssKiB: MEM150 },
      },
      {
        ...common, id: `S-digest-${tag}`, kind: 'nochange', snapshotVerify: true, warmup: true,
        title: `${n} files, no change: Pareco default mode (cache warm) vs rsync -a`,
        target: { ratio: 1.0, rssKiB: MEM150 },
      },
    );
  }
  return list;
}

