#!/usr/bin/env node
// Pareco vs rsync benchmark harness: the entry point. See bench/README.md; the pieces are in
// bench/lib/ (options, scenarios/, sides/, services/, runs/, runner, report).

import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { ensureBuilt } from './lib/build.mjs';
import { ensurePostgres, ensureRsync } from './lib/install.mjs';
import { log, red } from './lib/log.mjs';
import { machineInfo } from './lib/machine.mjs';
import { HELP, configFor, configRecord, parseArgs } from './lib/options.mjs';
import { parecoFeatures } from './lib/pareco-features.mjs';
import { stopChild } from './lib/proc.mjs';
import { writeReport } from './lib/report.mjs';
import { runScenario } from './lib/runner.mjs';
import { ScenarioData } from './lib/scenario-data.mjs';
import { allScenarios, selectScenarios } from './lib/scenarios/index.mjs';
import { startRsyncDaemon } from './lib/services/rsync-daemon.mjs';
import { createWorkDir } from './lib/workdir.mjs';

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${e.message}\n${HELP}`);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const cfg = configFor(opts);
const work = createWorkDir(opts);
const tStart = performance.now();

// The build first: which options it has shapes the scenarios' command lines.
const buildState = ensureBuilt();
const features = parecoFeatures();
const ctx = { opts, cfg, work, features };
let selected;
try {
  selected = selectScenarios(allScenarios(ctx), opts);
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(2);
}

ensureRsync();
if (selected.some((s) => s.needs === 'postgres')) {
  const missing = ensurePostgres();
  for (const s of selected) if (s.needs === 'postgres' && missing) s.skip = missing;
}
const machine = machineInfo(work.root, buildState, features);
log(`bench: ${cfg.mode} mode, ${cfg.reps} repetitions, scenarios ${selected.map((s) => s.id).join(' ')}; data in ${work.root}`);
log(`bench: ${machine.nproc} cores (${machine.cpu}), node ${machine.node}, ${machine.rsync}, pareco ${machine.pareco}`);
log(`bench: pareco options of this round: ${machine.parecoOptions}`);
if (machine.loadAvgAtStart[0] > 0.5) log(`bench: warning: load average is ${machine.loadAvgAtStart[0]} — other processes are using the CPU, timings will be noisy`);

const daemon = await startRsyncDaemon(work);
const data = new ScenarioData(work, selected);
const results = [];
for (const sc of selected) results.push(await runScenario(ctx, sc, { daemon, data }));
await stopChild(daemon.child);

const totalS = (performance.now() - tStart) / 1000;
machine.loadAvgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
const { tbl, series, jsonFile, mdFile } = writeReport({ argv: process.argv.slice(2), cfg, config: configRecord(cfg), machine, totalS, results });

const failed = results.filter((r) => !r.ok && !r.skipped);
console.log(`\n${tbl}\n`);
if (series) console.log(`S: peak RSS by number of files\n\n${series}\n`);
console.log(`machine: ${machine.nproc} × ${machine.cpu}, node ${machine.node}, ${machine.rsync}; pareco ${machine.pareco}`);
console.log(`total ${totalS.toFixed(1)} s; wrote ${path.relative(process.cwd(), mdFile)} and ${path.relative(process.cwd(), jsonFile)}`);
if (failed.length) {
  log(red(`\n!!! ${failed.length} scenario(s) FAILED: ${failed.map((r) => r.id).join(', ')} — see above and bench/out/RESULTS.md`));
  process.exitCode = 1;
}
work.cleanup();
