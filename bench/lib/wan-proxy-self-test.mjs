// `node bench/wan-proxy.mjs --self-test`: the proxy, started as its own process as the harness
// starts it, must (1) cap the total throughput of 4 parallel connections at --rate in each
// direction at once, within 10 %, and (2) deliver every connection's bytes complete and in order.
// Each connection sends a counter pattern upstream while the far end sends one back; both ends
// check every byte and time the first and last byte they receive.

import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const PROXY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'wan-proxy.mjs');
const MiB = 1024 * 1024;

/** Byte `pos` of connection `tag`'s stream: little-endian u32 counters XOR-ed with the tag. */
function patternBlock(tag, offset, len) {
  const start = offset & ~3;
  const words = new Uint32Array(Math.ceil((offset + len - start) / 4));
  for (let i = 0, w = start >>> 2; i < words.length; i++, w++) words[i] = (w ^ tag) >>> 0;
  return Buffer.from(words.buffer).subarray(offset - start, offset - start + len);
}

/** Counts and checks what one end receives; `span` is first..last arrival over all streams. */
function receiver(tag, span) {
  let pos = 0;
  let bad = null;
  return {
    take(buf) {
      const now = performance.now();
      span.first ??= now;
      span.last = now;
      span.bytes += buf.length;
      if (bad === null) {
        const want = patternBlock(tag, pos, buf.length);
        if (!buf.equals(want)) bad = pos + buf.findIndex((x, k) => x !== want[k]);
      }
      pos += buf.length;
    },
    result: () => ({ received: pos, firstBadByte: bad }),
  };
}

/** Writes `size` bytes of the pattern with backpressure, then ends the socket. */
async function sendPattern(sock, tag, size) {
  for (let off = 0; off < size; off += MiB) {
    const n = Math.min(MiB, size - off);
    if (!sock.write(patternBlock(tag, off, n))) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
}

function startProxy(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROXY, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      out += s;
      const m = /port: (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`proxy exited (${code}) before listening`)));
  });
}

/** Pushes `perConn` bytes each way over `conns` connections through a proxy with `proxyArgs`. */
async function exchange({ conns, perConn, proxyArgs }) {
  const up = { first: null, last: null, bytes: 0 };
  const down = { first: null, last: null, bytes: 0 };
  const ends = [];
  const sink = net.createServer((s) => {
    s.once('data', (first) => {
      const tag = first.readUInt32LE(0); // the first word is counter 0 XOR the tag
      const rx = receiver(tag, up);
      rx.take(first);
      s.on('data', (b) => rx.take(b));
      ends.push(new Promise((r) => s.once('end', () => r({ tag, side: 'up', ...rx.result() }))));
      sendPattern(s, tag ^ 0x5a5a, perConn);
    });
    s.on('error', () => {});
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const proxy = await startProxy(['--target', `127.0.0.1:${sink.address().port}`, '--port', '0', ...proxyArgs]);
  try {
    const clients = [];
    for (let c = 0; c < conns; c++) {
      const tag = 0x1000 + c;
      clients.push(new Promise((resolve, reject) => {
        const sock = net.connect(proxy.port, '127.0.0.1', () => sendPattern(sock, tag, perConn));
        const rx = receiver(tag ^ 0x5a5a, down);
        sock.on('data', (b) => rx.take(b));
        sock.once('end', () => resolve({ tag, side: 'down', ...rx.result() }));
        sock.once('error', reject);
      }));
    }
    const downs = await Promise.all(clients);
    while (ends.length < conns) await new Promise((r) => setTimeout(r, 10));
    const ups = await Promise.all(ends);
    const rate = (s) => (s.bytes / ((s.last - s.first) / 1000));
    return { streams: [...ups, ...downs], upRate: rate(up), downRate: rate(down) };
  } finally {
    proxy.child.kill('SIGTERM');
    sink.close();
  }
}

export async function selfTest({ rate }) {
  const conns = 4;
  const perConn = Math.max(2 * MiB, Math.round((2 * rate) / conns)); // ≈ 2 s per direction
  const fmt = (r) => `${(r / MiB).toFixed(1)} MiB/s`;
  let ok = true;
  const check = (cond, msg) => {
    console.log(`${cond ? 'ok  ' : 'FAIL'} ${msg}`);
    if (!cond) ok = false;
  };

  const capped = await exchange({ conns, perConn, proxyArgs: ['--delay', '25', '--window', '1M', '--rate', String(rate)] });
  for (const s of capped.streams) {
    check(s.received === perConn && s.firstBadByte === null,
      `connection ${s.tag.toString(16)} ${s.side}: ${s.received} of ${perConn} bytes${s.firstBadByte === null ? ', in order' : `, first wrong byte at ${s.firstBadByte}`}`);
  }
  for (const [dir, r] of [['up', capped.upRate], ['down', capped.downRate]]) {
    check(Math.abs(r - rate) / rate <= 0.1, `${conns} connections together ${dir}: ${fmt(r)} with --rate ${fmt(rate)} (within 10 %)`);
  }

  // For contrast: the same connections without the cap get window / delay each, far above it.
  const free = await exchange({ conns, perConn, proxyArgs: ['--delay', '25', '--window', '1M'] });
  console.log(`info without --rate: ${conns} connections together up ${fmt(free.upRate)}, down ${fmt(free.downRate)}`);
  check(free.streams.every((s) => s.received === perConn && s.firstBadByte === null), 'without --rate: every byte complete and in order');
  return ok ? 0 : 1;
}
