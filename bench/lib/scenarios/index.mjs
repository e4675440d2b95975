// Every scenario in report order, and the selection --only makes.

import { baseFiles } from './base-data.mjs';
import { asDownload, bigFileScenarios, manyTinyFilesScenario, smallFilesScenario } from './loopback.mjs';
import { wanScenarios } from './wan.mjs';

export function allScenarios(work, cfg) {
  const bases = baseFiles(work, cfg);
  const list = [
    ...bigFileScenarios(cfg, bases),
    smallFilesScenario(cfg),
    ...wanScenarios(cfg, bases),
    manyTinyFilesScenario(cfg),
  ];
  for (const id of ['A', 'B', 'D']) list.push(asDownload(list.find((x) => x.id === id)));
  return list;
}

/** The scenarios `only` names (H = all H-*); throws on an unknown id. */
export function selectScenarios(all, only) {
  if (!only) return all;
  const want = new Set(only);
  const known = new Set([...all.map((s) => s.id), 'H']);
  const unknown = [...want].filter((w) => !known.has(w));
  if (unknown.length) throw new Error(`unknown scenario id(s): ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return all.filter((s) => want.has(s.id) || (want.has('H') && s.id.startsWith('H-')));
}
