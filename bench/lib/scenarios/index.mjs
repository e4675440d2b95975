// Every scenario in report order, and the selection: the default run leaves out the scenarios
// behind a flag (--db: Z, M; --scale: S-*), --only picks by id whatever the flags.

import { baseFiles } from './base-data.mjs';
import { cacheOverheadScenarios, warmCacheScenarios } from './cache.mjs';
import { pgCopyScenario, randomCopyScenario } from './compression.mjs';
import { asDownload, bigFileScenarios, manyTinyFilesScenario, smallFilesScenario } from './loopback.mjs';
import { migrationScenario } from './migration.mjs';
import { pgData } from './pg-data.mjs';
import { scaleScenarios } from './scale.mjs';
import { wanScenarios } from './wan.mjs';

export function allScenarios({ work, cfg, opts, features }) {
  const bases = baseFiles(work, cfg);
  const pg = pgData(work, { scale: cfg.pgScale });
  const list = [
    ...bigFileScenarios(cfg, bases, features),
    ...warmCacheScenarios(cfg, bases, features),
    smallFilesScenario(cfg),
    ...wanScenarios(cfg, bases),
    manyTinyFilesScenario(cfg),
  ];
  for (const id of ['A', 'B', 'D']) list.push(asDownload(list.find((x) => x.id === id)));
  list.push(
    ...cacheOverheadScenarios(cfg, bases, features),
    randomCopyScenario(cfg, features),
    pgCopyScenario(cfg, pg, features),
    migrationScenario(cfg, pg),
    ...scaleScenarios(cfg, opts),
  );
  return list;
}

const GROUPS = { H: 'H-', O: 'O-', S: 'S-' };

/** The scenarios of this run; throws on an unknown id. */
export function selectScenarios(all, opts) {
  if (!opts.only) return all.filter((s) => !s.flag || (s.flag === 'db' && opts.db) || (s.flag === 'scale' && opts.scale));
  const want = new Set(opts.only.map((w) => w.toUpperCase()));
  const known = new Set([...all.map((s) => s.id.toUpperCase()), ...Object.keys(GROUPS)]);
  const unknown = [...want].filter((w) => !known.has(w));
  if (unknown.length) throw new Error(`unknown scenario id(s): ${unknown.join(', ')} (known: ${[...all.map((s) => s.id), ...Object.keys(GROUPS)].join(', ')})`);
  return all.filter((s) => want.has(s.id.toUpperCase()) || Object.entries(GROUPS).some(([g, prefix]) => want.has(g) && s.id.startsWith(prefix)));
}
