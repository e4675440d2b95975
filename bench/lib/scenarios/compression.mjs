// Compression over a slow link: the WAN emulator with every connection of a tool sharing one
// --rate cap (default 20 MiB/s), as a real link of that speed would. Z: compressible PostgreSQL
// data files, Pareco --compress vs rsync -z; Z-random: incompressible data, where compressing
// must not cost time (Pareco --compress vs Pareco without).

import fs from 'node:fs';
import path from 'node:path';

import { T0, writeRandomFile } from '../data.mjs';
import { fmtBytes, fmtSize } from '../format.mjs';
import { ifSupported } from '../pareco-features.mjs';

const rateText = (rate) => `${fmtBytes(rate)}/s`;

export function pgCopyScenario(cfg, pg, features) {
  const missing = [];
  return {
    id: 'Z', flag: 'db', needs: 'postgres',
    title: `PostgreSQL data directory (pgbench -i -s ${cfg.pgScale}), fresh copy over a ${rateText(cfg.rate)} link: Pareco --compress vs rsync -z`,
    dir: 'upload', kind: 'fresh', wan: { rate: cfg.rate },
    parecoArgs: ifSupported(features.client.compress, '--compress', missing), rsyncArgs: ['-z'], missing,
    target: { ratio: 0.8, wireFraction: 0.5 },
    paths: (dir) => ({ src: pg.snapshot().dir, dst: path.join(dir, 'dst') }),
    prep: (dir, paths) => {
      fs.mkdirSync(paths.dst);
      return { fileBytes: pg.snapshot().bytes };
    },
  };
}

export function randomCopyScenario(cfg, features) {
  const missing = [];
  return {
    id: 'Z-random',
    title: `${fmtSize(cfg.randomSize)} random (incompressible) file, fresh copy over a ${rateText(cfg.rate)} link: Pareco --compress vs Pareco without`,
    dir: 'upload', kind: 'fresh', wan: { rate: cfg.rate }, single: true,
    parecoArgs: ifSupported(features.client.compress, '--compress', missing), missing,
    baseline: { tool: 'pareco', label: 'Pareco without --compress', parecoArgs: [] },
    target: { ratio: 1.05 },
    prep: (dir, paths) => {
      fs.mkdirSync(paths.src);
      writeRandomFile(path.join(paths.src, 'random.bin'), cfg.randomSize, 0x2a2a);
      fs.utimesSync(paths.src, T0, T0);
      return { fileBytes: cfg.randomSize };
    },
  };
}
