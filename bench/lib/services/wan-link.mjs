// A WAN emulator instance (bench/wan-proxy.mjs) in front of one server, and the byte counts it
// logs: the wire bytes of the runs that go through it. `rate` (bytes/s, 0 = none) caps all its
// connections together, per direction.

import path from 'node:path';

import { BENCH_DIR, NODE } from '../paths.mjs';
import { startService } from '../proc.mjs';

export async function startProxy(targetPort, { delayMs, window, rate = 0 }) {
  const state = { open: 0, totalUp: 0, totalDown: 0 };
  const s = await startService(
    [NODE, path.join(BENCH_DIR, 'wan-proxy.mjs'), '--target', `127.0.0.1:${targetPort}`, '--port', '0', '--delay', String(delayMs), '--window', String(window), ...(rate ? ['--rate', String(rate)] : [])],
    {
      re: /port: (\d+)/,
      onLine: (line) => {
        if (!line.startsWith('{')) return;
        try {
          const ev = JSON.parse(line);
          state.open = ev.open;
          if (ev.type === 'close') { state.totalUp = ev.totalUp; state.totalDown = ev.totalDown; }
        } catch { /* ignore */ }
      },
    },
  );
  return { child: s.child, port: Number(s.match[1]), state };
}

/** Waits until the proxy saw every connection close, then returns its byte totals. */
export async function proxyTotals(proxy) {
  for (let i = 0; i < 150 && proxy.state.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return { up: proxy.state.totalUp, down: proxy.state.totalDown, settled: proxy.state.open === 0 };
}
