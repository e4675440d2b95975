#!/usr/bin/env node
// WAN emulator: a TCP proxy on loopback that makes every connection behave like one TCP flow over a
// long link. Per connection and per direction:
//   - every chunk read from one side is delivered to the other side `delay` ms later (one-way delay);
//   - at most `window` bytes may be "in flight" (read from the source but not yet delivered and
//     flushed to the destination); when the window is full, the source socket is paused, so the
//     sender is throttled by TCP backpressure exactly like a window-limited long flow.
//   - a new connection costs one round trip (2 × delay) before the upstream connection is opened
//     and the client's data starts flowing.
// Throughput of one connection is therefore capped near window / delay (1 MiB / 25 ms ≈ 40 MiB/s
// with the defaults), and N parallel connections get N times that.
// With --rate, all connections of the instance also share one bottleneck per direction, as on a
// real slow link (capped overall, not per connection): a chunk leaves the link only after every
// byte that arrived before it (from any connection) has, at `rate` bytes per second, and is then
// delivered `delay` ms later. The link is one FIFO in virtual time, so each chunk's delivery time
// is known when it arrives and never earlier than the previous chunk's: each connection's stream
// stays in order (see the reordering pitfall in NOTES.md).
//
// Usage (standalone):
//   node bench/wan-proxy.mjs --target 127.0.0.1:8080 [--port 0] [--host 127.0.0.1]
//                            [--delay 25] [--window 1M] [--rate 20M]
//   node bench/wan-proxy.mjs --self-test [--rate 20M]   (checks the cap and the byte order)
// Prints "wan-proxy listening on 127.0.0.1 port: N -> 127.0.0.1:8080" on stdout, then one JSON line
// per opened connection ({"type":"open","id":1,"open":1}) and per closed connection: {"type":"close","id":1,"up":bytesClientToTarget,"down":bytesTargetToClient,
// "open":connectionsStillOpen,"totalUp":…,"totalDown":…}. SIGTERM/SIGINT close everything and exit.
// No dependencies; importable too: `startWanProxy(options)` resolves to { port, server, close() }.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(String(s).trim());
  if (!m) throw new Error(`bad size: ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}

/**
 * The bottleneck of one direction, shared by all connections: bytes leave in arrival order at
 * `rate` bytes per second (0 = unlimited). `depart(n)` accepts n bytes now and returns when
 * their last byte has left.
 */
function sharedLink(rate) {
  let busyUntil = 0;
  return {
    depart(n) {
      const now = performance.now();
      if (!rate) return now;
      busyUntil = Math.max(now, busyUntil) + (n * 1000) / rate;
      return busyUntil;
    },
  };
}

/**
 * One direction of one connection: reads `from`, writes to `to` once `link` has carried it and
 * `delayMs` passed, with at most `window` bytes in flight.
 */
function pipeDelayed(from, to, { delayMs, window, link, onBytes }) {
  const queue = []; // { buf, due }
  let head = 0;
  let inFlight = 0;
  let timer = null;
  let ended = false;
  let paused = false;

  const maybeResume = () => {
    if (paused && inFlight < window && !from.destroyed) {
      paused = false;
      from.resume();
    }
  };

  const flush = () => {
    timer = null;
    const now = performance.now();
    let wrote = false;
    while (head < queue.length && queue[head].due <= now + 0.5) {
      const { buf } = queue[head];
      queue[head++] = undefined;
      if (to.destroyed) continue;
      if (!wrote) { to.cork(); wrote = true; }
      to.write(buf, () => {
        inFlight -= buf.length;
        maybeResume();
      });
    }
    if (wrote) to.uncork();
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
      if (ended && !to.destroyed) to.end();
    } else {
      schedule();
    }
  };

  const schedule = () => {
    if (timer || head >= queue.length) return;
    const wait = Math.max(0, queue[head].due - performance.now());
    timer = setTimeout(flush, wait);
  };

  from.on('data', (buf) => {
    onBytes(buf.length);
    inFlight += buf.length;
    queue.push({ buf, due: link.depart(buf.length) + delayMs });
    schedule();
    if (inFlight >= window && !paused) {
      paused = true;
      from.pause();
    }
  });
  from.on('end', () => {
    ended = true;
    if (head >= queue.length && !to.destroyed) to.end();
  });
  return () => { if (timer) clearTimeout(timer); };
}

export function startWanProxy({ target, port = 0, host = '127.0.0.1', delayMs = 25, window = 1024 * 1024, rate = 0, onOpen, onClose } = {}) {
  const [tHost, tPortStr] = target.includes(':') ? [target.slice(0, target.lastIndexOf(':')), target.slice(target.lastIndexOf(':') + 1)] : ['127.0.0.1', target];
  const tPort = Number(tPortStr);
  const sockets = new Set();
  let nextId = 1;
  let open = 0;
  let totalUp = 0;
  let totalDown = 0;
  const upLink = sharedLink(rate);
  const downLink = sharedLink(rate);

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const id = nextId++;
    open++;
    onOpen?.({ type: 'open', id, open });
    let up = 0;
    let down = 0;
    let closed = false;
    const cancels = [];
    sockets.add(client);
    client.setNoDelay(true);
    let upstream = null;

    const done = () => {
      if (closed) return;
      closed = true;
      open--;
      for (const c of cancels) c();
      client.destroy();
      upstream?.destroy();
      sockets.delete(client);
      if (upstream) sockets.delete(upstream);
      onClose?.({ type: 'close', id, up, down, open, totalUp, totalDown });
    };
    let clientClosed = false;
    let upstreamClosed = false;
    const maybeDone = () => { if (clientClosed && (upstream === null || upstreamClosed)) done(); };
    client.on('error', done);
    client.on('close', () => { clientClosed = true; maybeDone(); });

    // Connection setup costs one round trip before data flows.
    const setup = setTimeout(() => {
      if (client.destroyed) return done();
      upstream = net.connect({ host: tHost, port: tPort, allowHalfOpen: true });
      sockets.add(upstream);
      upstream.setNoDelay(true);
      upstream.on('error', done);
      upstream.on('close', () => { upstreamClosed = true; maybeDone(); });
      cancels.push(pipeDelayed(client, upstream, { delayMs, window, link: upLink, onBytes: (n) => { up += n; totalUp += n; } }));
      cancels.push(pipeDelayed(upstream, client, { delayMs, window, link: downLink, onBytes: (n) => { down += n; totalDown += n; } }));
      client.resume();
    }, 2 * delayMs);
    cancels.push(() => clearTimeout(setup));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const close = () => new Promise((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      });
      resolve({ port: server.address().port, server, close, stats: () => ({ open, totalUp, totalDown }) });
    });
  });
}

function parseArgs(argv) {
  const o = { port: 0, host: '127.0.0.1', delayMs: 25, window: 1024 * 1024, rate: 0, target: null, selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--target' || a === '-t') o.target = v();
    else if (a === '--port' || a === '-p') o.port = Number(v());
    else if (a === '--host') o.host = v();
    else if (a === '--delay' || a === '-d') o.delayMs = Number(v());
    else if (a === '--window' || a === '-w') o.window = parseSize(v());
    else if (a === '--rate') o.rate = parseSize(v());
    else if (a === '--self-test') o.selfTest = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/wan-proxy.mjs --target HOST:PORT [--port 0] [--host 127.0.0.1] [--delay MS] [--window SIZE] [--rate BYTES_PER_S]\n' +
        '       node bench/wan-proxy.mjs --self-test [--rate BYTES_PER_S]\n' +
        'SIZE and BYTES_PER_S take K/M/G suffixes (powers of 1024): --rate 20M = 20 MiB/s over all connections, each direction.');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!o.target && !o.selfTest) throw new Error('--target HOST:PORT is required');
  if (!(o.delayMs >= 0) || !(o.window > 0) || !(o.rate >= 0)) throw new Error('bad --delay, --window or --rate');
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`wan-proxy: ${e.message}`);
    process.exit(2);
  }
  if (opts.selfTest) {
    const { selfTest } = await import('./lib/wan-proxy-self-test.mjs');
    process.exit(await selfTest({ rate: opts.rate || parseSize('20M') }));
  }
  const emit = (ev) => process.stdout.write(JSON.stringify(ev) + '\n');
  const proxy = await startWanProxy({ ...opts, onOpen: emit, onClose: emit });
  process.stdout.write(`wan-proxy listening on ${opts.host} port: ${proxy.port} -> ${opts.target} (delay ${opts.delayMs} ms each way, window ${opts.window} B${opts.rate ? `, total rate ${opts.rate} B/s each way` : ''})\n`);
  const stop = async () => {
    await proxy.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
