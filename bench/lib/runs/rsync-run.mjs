// One timed rsync run against the daemon: wall time, peak RSS, and what --stats says it sent.

import path from 'node:path';

import { runMeasured } from '../proc.mjs';
import { proxyTotals } from '../services/wan-link.mjs';
import { RunError } from './run-error.mjs';

const num = (s) => Number(String(s).replace(/,/g, ''));

export function rsyncCmd(ctx, sc, rel, port) {
  const base = `rsync://127.0.0.1:${port}/bench/${rel}`;
  const args = ['rsync', '-a', ...(sc.rsyncArgs ?? []), '--stats'];
  return sc.dir === 'upload'
    ? [...args, `${path.join(ctx.work.data, rel, 'src')}/`, `${base}/dst/`]
    : [...args, `${base}/src/`, `${path.join(ctx.work.data, rel, 'dst')}/`];
}

export async function runRsync(ctx, sc, rel, port, proxy) {
  const before = proxy ? await proxyTotals(proxy) : null;
  const r = await runMeasured(rsyncCmd(ctx, sc, rel, port), { cwd: ctx.work.data, timeoutMs: ctx.cfg.timeoutS * 1000, rss: 'time', tmpDir: ctx.work.etc });
  if (r.timedOut) throw new RunError(`rsync timed out after ${ctx.cfg.timeoutS}s`);
  if (r.code !== 0) throw new RunError(`rsync failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderrTail.trim().slice(-1500)}`);
  const stat = (re) => {
    const m = re.exec(r.stdoutTail);
    return m ? num(m[1]) : null;
  };
  const sent = stat(/Total bytes sent:\s*([\d,]+)/);
  const received = stat(/Total bytes received:\s*([\d,]+)/);
  const after = proxy ? await proxyTotals(proxy) : null;
  return {
    wallMs: r.wallMs, rssKiB: r.maxRssKiB,
    sent, received, bytes: sc.dir === 'upload' ? sent : received,
    literal: stat(/Literal data:\s*([\d,]+)/), matched: stat(/Matched data:\s*([\d,]+)/),
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
  };
}
