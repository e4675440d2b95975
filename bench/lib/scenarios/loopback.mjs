// Scenarios on loopback, straight to the servers: one big file (fresh, edited, unchanged) and
// many small files, in the upload direction; H-* repeats A, B, D as downloads.
// No-change scenarios get their destination copied from the source by the runner; C1, C2 (and
// C4) share one such directory, as G and C3 do.

import { KiB, MiB, fmtSize } from '../format.mjs';
import { writeSmallFiles } from '../data.mjs';
import { ifSupported } from '../pareco-features.mjs';
import { prepDelta, prepSingle } from './base-data.mjs';
import { MEM200, MEM300 } from './targets.mjs';

export function bigFileScenarios(cfg, bases, features) {
  const missing = [];
  const big = fmtSize(cfg.big);
  return [
    {
      id: 'A', title: `${big} single file, fresh copy, loopback (upload)`, dir: 'upload', kind: 'fresh', single: true,
      target: { ratio: 0.8, rssKiB: MEM200 },
      prep: (d) => prepSingle(d, bases.big()),
    },
    {
      id: 'B', title: `${big} file after ${cfg.bEdits} scattered 4 KiB edits (upload)`, dir: 'upload', kind: 'delta', single: true,
      target: { ratio: 0.6, bytes: 4 * MiB, rssKiB: MEM200 },
      prep: (d) => prepDelta(d, bases.big(), { count: cfg.bEdits, len: 4 * KiB, align: 1 }, 0xb0b),
    },
    {
      id: 'B2', title: `${big} file after ${cfg.b2Pages} random 8 KiB-aligned page writes (upload)`, dir: 'upload', kind: 'delta', single: true,
      target: { ratio: 0.6, bytes: 1.5 * cfg.b2Pages * 8 * KiB, rssKiB: MEM200 },
      prep: (d) => prepDelta(d, bases.big(), { count: cfg.b2Pages, len: 8 * KiB, align: 8 * KiB }, 0xb2b2),
    },
    {
      // Hashing against hashing: no digest cache on either side (empty caches every run, and
      // --no-cache where the build has it).
      id: 'C1', title: `${big} file, no change: Pareco digest mode vs rsync -a -c`, dir: 'upload', kind: 'nochange', single: true, dataKey: 'C',
      target: { ratio: 1.0 }, rsyncArgs: ['-c'], cache: 'run',
      parecoArgs: ifSupported(features.client.noCache, '--no-cache', missing),
      serverArgs: features.server.noCache ? ['--no-cache'] : [],
      missing,
      prep: (d) => prepSingle(d, bases.big()),
    },
    {
      id: 'C2', title: `${big} file, no change: Pareco --skip-digest vs rsync -a`, dir: 'upload', kind: 'nochange', single: true, dataKey: 'C',
      target: { ratio: 1.5 }, parecoArgs: ['--skip-digest'],
      prep: (d) => prepSingle(d, bases.big()),
    },
  ];
}

/** D's data: 10,000 (quick: 2,500) files of 1–64 KiB in 100 directories. Shared with O-D. */
export function prepSmallFiles(cfg, paths) {
  writeSmallFiles(paths.src, { count: cfg.dFiles, dirs: 100, minSize: KiB, maxSize: 64 * KiB, seed: 0xd });
}

export function smallFilesScenario(cfg) {
  return {
    id: 'D', title: `${cfg.dFiles.toLocaleString('en')} files of 1–64 KiB in 100 directories, fresh copy (upload)`, dir: 'upload', kind: 'fresh',
    target: { ratio: 1.0, rssKiB: MEM200 },
    prep: (d, paths) => prepSmallFiles(cfg, paths),
  };
}

/** G's data: 100,000 (quick: 20,000) files of 0–100 B, 100 per directory. Shared with C3. */
export const tinyFilesDirs = (cfg) => Math.max(1, Math.round(cfg.gFiles / 100));
export function prepTinyFiles(cfg, paths) {
  writeSmallFiles(paths.src, { count: cfg.gFiles, dirs: tinyFilesDirs(cfg), minSize: 0, maxSize: 100, seed: 0x6 });
}

export function manyTinyFilesScenario(cfg) {
  return {
    // Like-for-like: both tools trust size + mtime (rsync -a's quick check, Pareco --skip-digest).
    id: 'G', title: `${cfg.gFiles.toLocaleString('en')} files of 0–100 B, no change, --skip-digest vs rsync -a (upload)`, dir: 'upload', kind: 'nochange', snapshotVerify: true,
    target: { ratio: 1.0, rssKiB: MEM300 }, parecoArgs: ['--skip-digest'], dataKey: 'G',
    prep: (d, paths) => prepTinyFiles(cfg, paths),
  };
}

/** The same scenario in the download direction: rsync pulls from the daemon, pareco -m download. */
export function asDownload(s) {
  return { ...s, id: `H-${s.id}`, dir: 'download', title: s.title.replace('(upload)', '(download)') };
}
