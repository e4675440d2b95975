// One scenario: get its data, start both sides (Pareco and its baseline: rsync, or Pareco with
// other options), then run them alternately (Pareco, baseline, Pareco, …), restoring the
// destination before and checking the copy after every run, within the scenario's time budget;
// then the medians and the verdict. A scenario may replace one run by its own procedure
// (`runOnce`, e.g. M's two passes around a live database) or ask for an untimed warm-up run.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { checkCopy } from './check-copy.mjs';
import { fmtBytes, fmtRss, fmtS } from './format.mjs';
import { judge } from './judge.mjs';
import { log, red } from './log.mjs';
import { RunError } from './runs/run-error.mjs';
import { ParecoSide } from './sides/pareco-side.mjs';
import { RsyncSide } from './sides/rsync-side.mjs';
import { maxOf, median } from './stats.mjs';
import { cpTree, rmrf, syncDisks } from './trees.mjs';
import { compareTrees, snapshotTree } from './verify.mjs';

/** Puts the destination back in the state the scenario starts from (not timed). */
function restore(sc, entry) {
  const { dst, before } = entry.paths;
  if (sc.kind === 'fresh') {
    rmrf(dst);
    fs.mkdirSync(dst);
  } else if (sc.kind === 'delta') {
    rmrf(dst);
    cpTree(before, dst);
  }
  // nochange: the destination must still equal the source, which the check after every run proves.
  if (sc.kind !== 'nochange') {
    entry.dstIsVerifiedCopy = false;
    entry.snapshot = null;
  }
}

/** A no-change scenario starts from a copy, unless an earlier scenario left a verified one. */
function makeDestinationCopy(sc, entry) {
  if (sc.kind !== 'nochange' || entry.dstIsVerifiedCopy) return;
  rmrf(entry.paths.dst);
  cpTree(entry.paths.src, entry.paths.dst);
}

/** A delta scenario must start different, a no-change one equal; returns the snapshot to trust. */
function checkPrepared(sc, entry) {
  const { src, dst, before } = entry.paths;
  if (sc.kind === 'delta' && !compareTrees(src, before)) throw new RunError('prepared source equals the old file');
  if (sc.kind !== 'nochange') return null;
  if (!entry.dstIsVerifiedCopy) {
    const p = compareTrees(src, dst);
    if (p) throw new RunError(`prepared destination differs from the source: ${p}`);
    entry.dstIsVerifiedCopy = true;
  }
  if (sc.snapshotVerify && !entry.snapshot) entry.snapshot = snapshotTree(dst);
  return sc.snapshotVerify ? entry.snapshot : null;
}

function sidesOf(ctx, sc, daemon) {
  const wan = sc.wan ? { delayMs: ctx.cfg.delayMs, window: ctx.cfg.window, rate: sc.wan.rate ?? 0 } : null;
  const cacheRoot = path.join(ctx.work.etc, 'cache', sc.id);
  const common = { cache: sc.cache ?? 'scenario', wan, cacheRoot };
  const main = new ParecoSide(ctx, { ...common, name: 'pareco', args: sc.parecoArgs, serverArgs: sc.serverArgs });
  const b = sc.baseline;
  const base = b?.tool === 'pareco'
    ? new ParecoSide(ctx, { ...common, name: 'baseline', label: b.label, args: b.parecoArgs, serverArgs: b.serverArgs })
    : new RsyncSide(ctx, daemon, { args: sc.rsyncArgs ?? [], wan });
  return [main, base];
}

/** The default run: restore, flush, one timed transfer, check. */
async function runOnce(ctx, sc, side, rep, entry, snapshot) {
  restore(sc, entry);
  syncDisks();
  const r = await side.transfer({ direction: sc.dir, paths: entry.paths, io: sc.probeIo && side.tool === 'pareco', firstData: !!sc.firstData, timeoutS: sc.timeoutS });
  checkCopy(ctx.opts, entry.paths, side.tool, rep, snapshot);
  entry.dstIsVerifiedCopy = true;
  return r;
}

function newResult(sc) {
  const res = {
    id: sc.id, title: sc.title, direction: sc.dir, kind: sc.kind, wan: !!sc.wan,
    parecoArgs: sc.parecoArgs ?? [], rsyncArgs: ['-a', ...(sc.rsyncArgs ?? [])], target: sc.target,
    pareco: { runs: [] }, rsync: { runs: [] }, server: {}, notes: [...(sc.notes ?? [])], ok: false, error: null,
  };
  if (sc.baseline?.tool === 'pareco') res.baseline = { tool: 'pareco', label: sc.baseline.label, parecoArgs: sc.baseline.parecoArgs ?? [] };
  if (sc.wan?.rate) res.wanRate = sc.wan.rate;
  if (sc.missing?.length) res.missing = sc.missing;
  if (sc.scale) res.scale = sc.scale;
  return res;
}

function summarise(res) {
  const P = res.pareco;
  const R = res.rsync;
  P.medianMs = median(P.runs.map((r) => r.wallMs));
  P.bytes = median(P.runs.map((r) => r.bytes));
  P.maxBytes = maxOf(P.runs.map((r) => r.bytes));
  P.clientRssKiB = maxOf(P.runs.map((r) => r.rssKiB));
  R.medianMs = median(R.runs.map((r) => r.wallMs));
  R.bytes = median(R.runs.map((r) => r.bytes));
  R.literal = median(R.runs.map((r) => r.literal));
  R.rssKiB = maxOf(R.runs.map((r) => r.rssKiB));
  res.ratio = P.medianMs !== null && R.medianMs ? P.medianMs / R.medianMs : null;
  res.met = judge(res);
}

const runLine = (side, r) =>
  `${side.tool === 'rsync' ? 'rsync' : side.label === 'Pareco' ? 'pareco' : side.label} ${fmtS(r.wallMs)}s ${fmtBytes(r.bytes)}` +
  (side.tool === 'rsync' ? ` (literal ${fmtBytes(r.literal)})` : ` rss ${fmtRss(r.rssKiB)}`);

/**
 * The timed repetitions: each side once per repetition, in the same order every time, and
 * stop early when another pair would not fit in the scenario's budget of timed runs.
 */
async function repeat(ctx, sc, sides, once, res) {
  let reps = sc.reps ?? ctx.cfg.reps;
  let spentMs = 0;
  const budgetS = sc.budgetS ?? ctx.cfg.scenarioBudgetS;
  for (let i = 1; i <= reps; i++) {
    const pair = [];
    for (const side of sides) {
      await side.beginRun(i);
      const r = await once(side, i);
      (side === sides[0] ? res.pareco : res.rsync).runs.push(r);
      pair.push(r);
    }
    log(`[${sc.id}] run ${i}/${reps}: ${runLine(sides[0], pair[0])} | ${runLine(sides[1], pair[1])}`);
    // A custom run reports its whole time (budgetMs): M's timed pass is a fraction of it.
    const pairMs = pair.reduce((sum, r) => sum + (r.budgetMs ?? r.wallMs), 0);
    spentMs += pairMs;
    if (i < reps && (spentMs + pairMs) / 1000 > budgetS) {
      res.notes.push(`${i} repetition(s) instead of ${reps}: another pair (${fmtS(pairMs)} s) would exceed the ${budgetS} s budget of timed runs per scenario`);
      log(`[${sc.id}] ${res.notes.at(-1)}`);
      reps = i;
    }
  }
}

export async function runScenario(ctx, sc, { daemon, data }) {
  const res = newResult(sc);
  const t0 = performance.now();
  if (sc.skip) {
    res.skipped = sc.skip;
    log(`[${sc.id}] skipped: ${sc.skip}`);
    summarise(res);
    return res;
  }
  let sides = [];
  let entry = null;
  try {
    const tp = performance.now();
    entry = data.acquire(sc);
    makeDestinationCopy(sc, entry);
    res.prepMs = performance.now() - tp;
    if (entry.info?.editedBytes) res.editedBytes = entry.info.editedBytes;
    if (entry.info?.fileBytes) res.fileBytes = entry.info.fileBytes;
    const snapshot = checkPrepared(sc, entry);
    log(`[${sc.id}] ${sc.title}: data ready in ${fmtS(res.prepMs)}s`);

    sides = sidesOf(ctx, sc, daemon);
    for (const s of sides) await s.start();
    const once = (side, rep) => (sc.runOnce ? sc.runOnce(ctx, { side, rep, entry, snapshot }) : runOnce(ctx, sc, side, rep, entry, snapshot));
    if (sc.warmup) {
      // Untimed, Pareco only: the timed runs then find the digests this run cached.
      await sides[0].beginRun(0);
      const w = await once(sides[0], 0);
      res.warmup = { wallMs: w.wallMs };
      log(`[${sc.id}] warm-up (untimed): ${runLine(sides[0], w)}`);
    }
    await repeat(ctx, sc, sides, once, res);
    res.ok = true;
  } catch (e) {
    res.error = e instanceof RunError ? e.message : (e.stack ?? String(e));
    log(red(`\n!!! [${sc.id}] SCENARIO FAILED: ${res.error}\n`));
  } finally {
    for (const s of sides) await s.stop();
    if (sides[0]) {
      res.server.vmHwmKiB = sides[0].serverPeakKiB;
      res.server.log = sides[0].serverLog;
    }
    if (!res.ok && entry) {
      // Whatever the failed run left behind is no copy to build on.
      entry.dstIsVerifiedCopy = false;
      entry.snapshot = null;
    }
    res.cleanupMs = data.release(sc);
  }
  summarise(res);
  res.totalMs = performance.now() - t0;
  log(`[${sc.id}] pareco ${fmtS(res.pareco.medianMs)}s, ${sides[1]?.label ?? 'rsync'} ${fmtS(res.rsync.medianMs)}s, ratio ${res.ratio?.toFixed(2) ?? '–'} → ${res.met.text} (scenario took ${fmtS(res.totalMs)}s: data ${fmtS(res.prepMs)}s, cleanup ${fmtS(res.cleanupMs)}s)`);
  return res;
}
