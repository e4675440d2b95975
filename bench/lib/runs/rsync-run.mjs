// One timed rsync run against the daemon: wall time, peak RSS, what --stats says it sent, and on
// request when the first file reached the destination.

import path from 'node:path';

import { watchFirstData } from '../first-data.mjs';
import { runMeasured } from '../proc.mjs';
import { proxyTotals } from '../services/wan-link.mjs';
import { RunError } from './run-error.mjs';

const num = (s) => Number(String(s).replace(/,/g, ''));

/** The remote side is addressed inside the daemon's module (the data directory). */
export function rsyncCmd(ctx, { direction, paths, port, args = [] }) {
  const remote = (p) => `rsync://127.0.0.1:${port}/bench/${path.relative(ctx.work.data, p)}/`;
  const argv = ['rsync', '-a', ...args, '--stats'];
  return direction === 'upload' ? [...argv, `${paths.src}/`, remote(paths.dst)] : [...argv, remote(paths.src), `${paths.dst}/`];
}

/**
 * `run`: { direction, paths, port, args, proxy, firstData, tolerateCodes }. `tolerateCodes`:
 * exit codes reported as `problem` instead of failing (24 = source files vanished, on a live
 * source).
 */
export async function runRsync(ctx, run) {
  const before = run.proxy ? await proxyTotals(run.proxy) : null;
  const watch = run.firstData ? watchFirstData(run.paths.dst) : null;
  let r;
  try {
    r = await runMeasured(rsyncCmd(ctx, run), { cwd: ctx.work.data, timeoutMs: (run.timeoutS ?? ctx.cfg.timeoutS) * 1000, rss: 'time', tmpDir: ctx.work.etc });
  } finally {
    watch?.stop();
  }
  if (r.timedOut) throw new RunError(`rsync timed out after ${run.timeoutS ?? ctx.cfg.timeoutS}s`);
  let problem;
  if (r.code !== 0) {
    problem = `rsync failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderrTail.trim().slice(-1500)}`;
    if (!run.tolerateCodes?.includes(r.code)) throw new RunError(problem);
  }
  const stat = (re) => {
    const m = re.exec(r.stdoutTail);
    return m ? num(m[1]) : null;
  };
  const sent = stat(/Total bytes sent:\s*([\d,]+)/);
  const received = stat(/Total bytes received:\s*([\d,]+)/);
  const after = run.proxy ? await proxyTotals(run.proxy) : null;
  return {
    wallMs: r.wallMs, rssKiB: r.maxRssKiB,
    sent, received, bytes: run.direction === 'upload' ? sent : received,
    literal: stat(/Literal data:\s*([\d,]+)/), matched: stat(/Matched data:\s*([\d,]+)/),
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
    firstDataMs: watch?.firstAt() != null ? watch.firstAt() - r.startedAt : undefined,
    problem,
  };
}
