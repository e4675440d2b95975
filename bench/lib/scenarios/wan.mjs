// Scenarios through the WAN emulator (both tools, each through its own proxy instance).

import path from 'node:path';

import { KiB, fmtSize } from '../format.mjs';
import { writeSmallFiles } from '../data.mjs';
import { prepDelta, prepSingle } from './base-data.mjs';
import { MEM200 } from './targets.mjs';

export function wanScenarios(cfg, bases) {
  return [
    {
      id: 'E', title: `${fmtSize(cfg.eSize)} file, fresh, WAN, pareco -n 8 (upload)`, dir: 'upload', kind: 'fresh', single: true, wan: true,
      target: { ratio: 0.25, rssKiB: MEM200 }, parecoArgs: ['-n', '8'],
      prep: (d) => prepSingle(d, bases.wan()),
    },
    {
      id: 'E2', title: `${fmtSize(cfg.eSize)} file after ${cfg.e2Pages} random 8 KiB page writes, WAN (upload)`, dir: 'upload', kind: 'delta', single: true, wan: true,
      target: { ratio: 0.4 },
      prep: (d) => prepDelta(d, bases.wan(), { count: cfg.e2Pages, len: 8 * KiB, align: 8 * KiB }, 0xe2e2),
    },
    {
      id: 'F', title: `${cfg.fFiles.toLocaleString('en')} small files (1–64 KiB), fresh, WAN (upload)`, dir: 'upload', kind: 'fresh', wan: true,
      target: { ratio: 0.4 },
      prep: (d) => writeSmallFiles(path.join(d, 'src'), { count: cfg.fFiles, dirs: 20, minSize: KiB, maxSize: 64 * KiB, seed: 0xf }),
    },
  ];
}
