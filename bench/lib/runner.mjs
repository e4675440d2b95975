// One scenario: prepare its data, start its servers (and WAN proxies), then run the tools
// alternately (Pareco, rsync, Pareco, …), restoring the destination before and checking the
// copy after every run, within the scenario's time budget; then the medians and the verdict.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { checkCopy } from './check-copy.mjs';
import { fmtBytes, fmtRss, fmtS } from './format.mjs';
import { judge } from './judge.mjs';
import { log, red } from './log.mjs';
import { stopChild, vmHwmKiB } from './proc.mjs';
import { runPareco } from './runs/pareco-run.mjs';
import { RunError } from './runs/run-error.mjs';
import { runRsync } from './runs/rsync-run.mjs';
import { startParecoServer } from './services/pareco-server.mjs';
import { startProxy } from './services/wan-link.mjs';
import { maxOf, median } from './stats.mjs';
import { cpTree, rmrf, syncDisks } from './trees.mjs';
import { compareTrees, snapshotTree } from './verify.mjs';

/** Puts the destination back in the state the scenario starts from (not timed). */
function restore(sc, dir) {
  const dst = path.join(dir, 'dst');
  if (sc.kind === 'fresh') {
    rmrf(dst);
    fs.mkdirSync(dst);
  } else if (sc.kind === 'delta') {
    rmrf(dst);
    cpTree(path.join(dir, 'before'), dst);
  }
  // nochange: the destination must still equal the source, which the check after every run proves.
}

/** A delta scenario must start different, a no-change one equal; returns the snapshot to trust. */
function checkPrepared(sc, dir) {
  if (sc.kind === 'delta' && !compareTrees(path.join(dir, 'src'), path.join(dir, 'before'))) throw new RunError('prepared source equals the old file');
  if (sc.kind !== 'nochange') return null;
  const p = compareTrees(path.join(dir, 'src'), path.join(dir, 'dst'));
  if (p) throw new RunError(`prepared destination differs from the source: ${p}`);
  return sc.snapshotVerify ? snapshotTree(path.join(dir, 'dst')) : null;
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

export async function runScenario(ctx, sc, rsyncd) {
  const { cfg } = ctx;
  const res = {
    id: sc.id, title: sc.title, direction: sc.dir, kind: sc.kind, wan: !!sc.wan,
    parecoArgs: sc.parecoArgs ?? [], rsyncArgs: ['-a', ...(sc.rsyncArgs ?? [])], target: sc.target,
    pareco: { runs: [] }, rsync: { runs: [] }, server: {}, notes: [], ok: false, error: null,
  };
  const rel = sc.id;
  const dir = path.join(ctx.work.data, rel);
  const t0 = performance.now();
  let server = null;
  const proxies = [];
  try {
    fs.mkdirSync(dir);
    const tp = performance.now();
    const info = sc.prep(dir);
    if (info?.editedBytes) res.editedBytes = info.editedBytes;
    res.prepMs = performance.now() - tp;
    const snapshot = checkPrepared(sc, dir);
    log(`[${sc.id}] ${sc.title}: data ready in ${fmtS(res.prepMs)}s`);

    server = await startParecoServer(ctx.work);
    let parecoUrl = `http://127.0.0.1:${server.port}`;
    let rsyncPort = rsyncd.port;
    let pProxy = null;
    let rProxy = null;
    if (sc.wan) {
      pProxy = await startProxy(server.port, cfg);
      rProxy = await startProxy(rsyncd.port, cfg);
      proxies.push(pProxy, rProxy);
      parecoUrl = `http://127.0.0.1:${pProxy.port}`;
      rsyncPort = rProxy.port;
    }

    let reps = cfg.reps;
    let spentMs = 0;
    for (let i = 1; i <= reps; i++) {
      restore(sc, dir);
      syncDisks();
      const p = await runPareco(ctx, sc, dir, parecoUrl, pProxy);
      res.pareco.runs.push(p);
      checkCopy(ctx.opts, dir, 'pareco', i, snapshot);

      restore(sc, dir);
      syncDisks();
      const r = await runRsync(ctx, sc, rel, rsyncPort, rProxy);
      res.rsync.runs.push(r);
      checkCopy(ctx.opts, dir, 'rsync', i, snapshot);
      log(`[${sc.id}] run ${i}/${reps}: pareco ${fmtS(p.wallMs)}s ${fmtBytes(p.bytes)} rss ${fmtRss(p.rssKiB)} | rsync ${fmtS(r.wallMs)}s ${fmtBytes(r.bytes)} (literal ${fmtBytes(r.literal)})`);
      // Keep the total bounded: another pair must fit in the scenario's budget of timed runs.
      spentMs += p.wallMs + r.wallMs;
      if (i < reps && (spentMs + p.wallMs + r.wallMs) / 1000 > cfg.scenarioBudgetS) {
        res.notes.push(`${i} repetition(s) instead of ${reps}: another pair (${fmtS(p.wallMs + r.wallMs)} s) would exceed the ${cfg.scenarioBudgetS} s budget of timed runs per scenario`);
        log(`[${sc.id}] ${res.notes.at(-1)}`);
        reps = i;
      }
    }
    res.server.vmHwmKiB = vmHwmKiB(server.child.pid);
    res.ok = true;
  } catch (e) {
    res.error = e instanceof RunError ? e.message : (e.stack ?? String(e));
    if (server) res.server.vmHwmKiB ??= vmHwmKiB(server.child.pid);
    log(red(`\n!!! [${sc.id}] SCENARIO FAILED: ${res.error}\n`));
  } finally {
    for (const p of proxies) await stopChild(p.child);
    if (server) {
      await stopChild(server.child);
      res.server.log = server.log().split('\n').filter((l) => /error|warn/i.test(l)).slice(0, 10);
    }
    const tc = performance.now();
    rmrf(dir);
    res.cleanupMs = performance.now() - tc;
  }
  summarise(res);
  res.totalMs = performance.now() - t0;
  log(`[${sc.id}] pareco ${fmtS(res.pareco.medianMs)}s, rsync ${fmtS(res.rsync.medianMs)}s, ratio ${res.ratio?.toFixed(2) ?? '–'} → ${res.met.text} (scenario took ${fmtS(res.totalMs)}s: data ${fmtS(res.prepMs)}s, cleanup ${fmtS(res.cleanupMs)}s)`);
  return res;
}
