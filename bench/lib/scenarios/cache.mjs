// The digest cache: unchanged data in Pareco's default (digest) mode with the cache warm (C3,
// C4: an untimed warm-up run first, then every timed run finds the digests of the previous
// one), and what the cache costs on first runs (O-A, O-D: Pareco with empty caches against
// Pareco --no-cache, each run with new cache directories and a new server).

import { fmtSize } from '../format.mjs';
import { ifSupported } from '../pareco-features.mjs';
import { prepSingle } from './base-data.mjs';
import { prepSmallFiles, prepTinyFiles, tinyFilesDirs } from './loopback.mjs';

const noCacheNote = (features) =>
  features.client.noCache ? [] : ['this build lists no --no-cache option: it probably has no digest cache yet, so the warm-up warms nothing'];

export function warmCacheScenarios(cfg, bases, features) {
  return [
    {
      id: 'C3', title: `${cfg.gFiles.toLocaleString('en')} files of 0–100 B in ${tinyFilesDirs(cfg).toLocaleString('en')} directories, no change: Pareco default mode, cache warm, vs rsync -a`,
      dir: 'upload', kind: 'nochange', snapshotVerify: true, dataKey: 'G', warmup: true,
      target: { ratio: 1.0 }, notes: noCacheNote(features),
      prep: (d, paths) => prepTinyFiles(cfg, paths),
    },
    {
      // "Nothing read": a cache hit needs no byte of the file, on either side; reading it once
      // would count its whole size. Node's own start-up reads a few MiB, hence 1/16.
      id: 'C4', title: `${fmtSize(cfg.big)} file, no change: Pareco default mode, cache warm, vs rsync -a`,
      dir: 'upload', kind: 'nochange', single: true, dataKey: 'C', warmup: true, probeIo: true,
      target: { ratio: 1.0, maxReadBytes: cfg.big / 16 }, notes: noCacheNote(features),
      prep: (d) => prepSingle(d, bases.big()),
    },
  ];
}

/** Pareco with the cache (empty) vs Pareco --no-cache, on A's and D's data. */
export function cacheOverheadScenarios(cfg, bases, features) {
  const missing = [];
  const baseline = {
    tool: 'pareco', label: 'Pareco --no-cache',
    parecoArgs: ifSupported(features.client.noCache, '--no-cache', missing),
    serverArgs: features.server.noCache ? ['--no-cache'] : [],
  };
  const common = { dir: 'upload', kind: 'fresh', cache: 'run', baseline, missing, target: { ratio: 1.05 } };
  return [
    {
      ...common, id: 'O-A', single: true,
      title: `A's ${fmtSize(cfg.big)} file, fresh copy, first run: Pareco cache on (empty) vs Pareco --no-cache`,
      prep: (d) => prepSingle(d, bases.big()),
    },
    {
      ...common, id: 'O-D', dataKey: 'D',
      title: `D's ${cfg.dFiles.toLocaleString('en')} files of 1–64 KiB, fresh copy, first run: Pareco cache on (empty) vs Pareco --no-cache`,
      prep: (d, paths) => prepSmallFiles(cfg, paths),
    },
  ];
}
