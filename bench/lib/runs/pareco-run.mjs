// One timed Pareco client run: wall time from spawn to exit, the JSON summary, peak RSS, and
// the wire bytes when it went through a WAN proxy.

import path from 'node:path';

import { NODE, REPO } from '../paths.mjs';
import { TIME_BIN, runMeasured } from '../proc.mjs';
import { proxyTotals } from '../services/wan-link.mjs';
import { RunError } from './run-error.mjs';

export function parecoCmd(sc, dir, url) {
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  const [local, remote] = sc.dir === 'upload' ? [src, dst] : [dst, src];
  return [NODE, path.join(REPO, 'bin/pareco.js'), '-m', sc.dir, '-s', url, '-l', local, '-r', remote, '--json', '--log-level', 'quiet', ...(sc.parecoArgs ?? [])];
}

export async function runPareco(ctx, sc, dir, url, proxy) {
  const env = { ...process.env };
  delete env.PARECO_AUTH_TOKEN;
  let summary = null;
  const errors = [];
  const before = proxy ? await proxyTotals(proxy) : null;
  const r = await runMeasured(parecoCmd(sc, dir, url), {
    cwd: REPO, env, timeoutMs: ctx.cfg.timeoutS * 1000, rss: TIME_BIN ? 'time' : 'wrap', tmpDir: ctx.work.etc,
    onStdoutLine: (line) => {
      if (line.includes('"summary"') || line.includes('"error"')) {
        try {
          const ev = JSON.parse(line);
          if (ev.type === 'summary') summary = ev;
          else if (ev.type === 'error' && errors.length < 5) errors.push(ev.message ?? line);
        } catch { /* not JSON */ }
      }
    },
  });
  if (r.timedOut) throw new RunError(`pareco timed out after ${ctx.cfg.timeoutS}s`);
  if (r.code !== 0 || !summary || summary.ok !== true) {
    throw new RunError(`pareco failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}${summary ? `, ok=${summary.ok}` : ', no summary'}): ${errors.join('; ')} ${r.stderrTail.trim().slice(-1500)}`);
  }
  const after = proxy ? await proxyTotals(proxy) : null;
  return {
    wallMs: r.wallMs, bytes: summary.bytesTransferred, rssKiB: r.maxRssKiB, durationMs: summary.durationMs,
    filesTransferred: summary.filesTransferred, chunksTransferred: summary.chunksTransferred,
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
  };
}
