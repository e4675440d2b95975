// One timed Pareco client run: wall time from spawn to exit, the JSON summary (with the figures
// newer builds add: bytesWire, filesFromCache, bytesFromCache), peak RSS, and on request what
// the client read (/proc/self/io at exit), when the first file reached the destination, and the
// wire bytes when it went through a WAN proxy.

import path from 'node:path';

import { watchFirstData } from '../first-data.mjs';
import { NODE, REPO } from '../paths.mjs';
import { TIME_BIN, runMeasured } from '../proc.mjs';
import { proxyTotals } from '../services/wan-link.mjs';
import { RunError } from './run-error.mjs';

export function parecoCmd({ direction, paths, url, args = [] }) {
  const [local, remote] = direction === 'upload' ? [paths.src, paths.dst] : [paths.dst, paths.src];
  return [NODE, path.join(REPO, 'bin/pareco.js'), '-m', direction, '-s', url, '-l', local, '-r', remote, '--json', '--log-level', 'quiet', ...args];
}

/** Reads the summary and the first errors from the --json lines as they arrive. */
function jsonListener() {
  const seen = { summary: null, errors: [] };
  const onLine = (line) => {
    if (!line.includes('"summary"') && !line.includes('"error"')) return;
    try {
      const ev = JSON.parse(line);
      if (ev.type === 'summary') seen.summary = ev;
      else if (ev.type === 'error' && seen.errors.length < 5) seen.errors.push(ev.message ?? line);
    } catch { /* not JSON */ }
  };
  return { seen, onLine };
}

/**
 * `run`: { direction, paths: { src, dst }, url, args, env, proxy, io, firstData, tolerant }.
 * `tolerant`: a run that ends with a summary but not ok (a live source changing underneath) is
 * returned with `problem` set instead of failing the scenario.
 */
export async function runPareco(ctx, run) {
  const env = { ...process.env, ...run.env };
  delete env.PARECO_AUTH_TOKEN;
  const { seen, onLine } = jsonListener();
  const before = run.proxy ? await proxyTotals(run.proxy) : null;
  const watch = run.firstData ? watchFirstData(run.paths.dst) : null;
  let r;
  try {
    r = await runMeasured(parecoCmd(run), {
      cwd: REPO, env, timeoutMs: (run.timeoutS ?? ctx.cfg.timeoutS) * 1000, rss: TIME_BIN ? 'time' : 'wrap', io: !!run.io, tmpDir: ctx.work.etc, onStdoutLine: onLine,
    });
  } finally {
    watch?.stop();
  }
  const { summary, errors } = seen;
  if (r.timedOut) throw new RunError(`pareco timed out after ${run.timeoutS ?? ctx.cfg.timeoutS}s`);
  let problem;
  if (r.code !== 0 || !summary || summary.ok !== true) {
    const counts = summary ? [summary.filesFailed && `${summary.filesFailed} files failed`, summary.filesChanged && `${summary.filesChanged} changed during transfer`].filter(Boolean) : [];
    const said = `${errors.join('; ')} ${r.stderrTail.trim().slice(-1500)}`.trim();
    problem = `pareco failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}${summary ? `, ok=${summary.ok}` : ', no summary'}${counts.map((c) => `, ${c}`).join('')})${said ? `: ${said}` : ''}`;
    if (!run.tolerant || !summary) throw new RunError(problem);
  }
  const after = run.proxy ? await proxyTotals(run.proxy) : null;
  return {
    wallMs: r.wallMs, bytes: summary.bytesTransferred, rssKiB: r.maxRssKiB, durationMs: summary.durationMs,
    filesTransferred: summary.filesTransferred, chunksTransferred: summary.chunksTransferred,
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
    // Present only when the build reports them (undefined keys stay out of results.json).
    bytesWire: summary.bytesWire, filesFromCache: summary.filesFromCache, bytesFromCache: summary.bytesFromCache,
    io: r.io ?? undefined,
    firstDataMs: watch?.firstAt() != null ? watch.firstAt() - r.startedAt : undefined,
    problem,
  };
}
