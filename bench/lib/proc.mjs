// Child processes: every child runs in its own process group (detached) and is tracked, so
// cleanup can kill it with its descendants (rsync daemon forks, /usr/bin/time wrappers) by id.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { parseProcIo } from './proc-io.mjs';

const live = new Set();

export function killTree(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* gone */ }
  }
}

/** Synchronous, for exit handlers: SIGTERM to every live child group, then SIGKILL. */
export function killAllChildren() {
  for (const c of live) killTree(c, 'SIGTERM');
  for (const c of live) killTree(c, 'SIGKILL');
  live.clear();
}

export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Waits for a child to exit, SIGTERM then SIGKILL after `graceMs`. */
export async function stopChild(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  killTree(child, 'SIGTERM');
  const t = setTimeout(() => killTree(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export const TIME_BIN = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const probeFile = (tmpDir, kind) => path.join(tmpDir, `${kind}-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);

/**
 * Runs a command to completion and measures it.
 * Returns { code, signal, timedOut, startedAt, wallMs, maxRssKiB, io, stdoutTail, stderrTail }
 * (startedAt: performance.now() at spawn).
 * `rss`: 'time' wraps in /usr/bin/time -f %M; 'wrap' runs a node script through bench/rss-wrap.mjs;
 * anything else: no RSS. `io`: run a node script through bench/io-wrap.mjs and return what it read
 * ({ rchar, readBytes }, see proc-io.mjs); combines with rss 'time'.
 */
export function runMeasured(argv, { cwd, env, timeoutMs = 300_000, rss = 'none', io = false, onStdoutLine, tmpDir } = {}) {
  let cmd = argv;
  let rssFile = null;
  let ioFile = null;
  if (io) {
    ioFile = probeFile(tmpDir, 'io');
    // argv = ['node', script, ...args] → node io-wrap.mjs ioFile script ...args
    cmd = [cmd[0], new URL('../io-wrap.mjs', import.meta.url).pathname, ioFile, ...cmd.slice(1)];
  }
  if (rss === 'time' && TIME_BIN) {
    rssFile = probeFile(tmpDir, 'rss');
    cmd = [TIME_BIN, '-f', '%M', '-o', rssFile, ...cmd];
  } else if (rss === 'wrap') {
    rssFile = probeFile(tmpDir, 'rss');
    // cmd = ['node', script, ...args] → node rss-wrap.mjs rssFile script ...args
    cmd = [cmd[0], new URL('../rss-wrap.mjs', import.meta.url).pathname, rssFile, ...cmd.slice(1)];
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let wallMs = null;
    const child = track(spawn(cmd[0], cmd.slice(1), { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child, 'SIGKILL');
    }, timeoutMs);
    const keep = 64 * 1024;
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      if (onStdoutLine) {
        partial += s;
        let i;
        while ((i = partial.indexOf('\n')) >= 0) {
          onStdoutLine(partial.slice(0, i));
          partial = partial.slice(i + 1);
        }
      }
      out += s;
      if (out.length > 2 * keep) out = out.slice(-keep);
    });
    child.stderr.on('data', (s) => {
      err += s;
      if (err.length > 2 * keep) err = err.slice(-keep);
    });
    child.once('exit', () => { wallMs = performance.now() - t0; });
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (wallMs === null) wallMs = performance.now() - t0;
      if (onStdoutLine && partial) onStdoutLine(partial);
      let maxRssKiB = null;
      if (rssFile) {
        try {
          const txt = fs.readFileSync(rssFile, 'utf8');
          fs.rmSync(rssFile, { force: true });
          const nums = txt.trim().split(/\s+/).filter((w) => /^\d+$/.test(w));
          if (nums.length) maxRssKiB = Number(nums[nums.length - 1]);
        } catch { /* not written */ }
      }
      let ioRead = null;
      if (ioFile) {
        try {
          ioRead = parseProcIo(fs.readFileSync(ioFile, 'utf8'));
          fs.rmSync(ioFile, { force: true });
        } catch { /* not written */ }
      }
      resolve({ code, signal, timedOut, startedAt: t0, wallMs, maxRssKiB, io: ioRead, stdoutTail: out.slice(-keep), stderrTail: err.slice(-keep) });
    });
  });
}

/** Runs a short helper command synchronously; throws with its stderr on failure. */
export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().slice(-2000)}`);
  }
  return r;
}

/**
 * Starts a long-running child (tracked) and resolves when a line of its output matches `re`
 * (resolves with the match), or rejects if it exits first or `timeoutMs` passes.
 */
export function startService(argv, { cwd, env, re, timeoutMs = 15_000, onLine } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(argv[0], argv.slice(1), { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    let log = '';
    let done = false;
    const finish = (err, m) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        killTree(child, 'SIGKILL');
        reject(new Error(`${err}: ${argv.join(' ')}\n${log.slice(-3000)}`));
      } else resolve({ child, match: m, log: () => log });
    };
    const timer = setTimeout(() => finish('timed out waiting for start'), timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (s) => {
        if (log.length < 1_000_000) log += s;
        partial += s;
        let i;
        while ((i = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, i);
          partial = partial.slice(i + 1);
          onLine?.(line);
          const m = re && !done ? re.exec(line) : null;
          if (m) finish(null, m);
        }
      });
    }
    child.once('error', (e) => finish(`failed to start (${e.message})`));
    child.once('exit', (code, sig) => finish(`exited early (code ${code}, signal ${sig})`));
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const c = net.connect(port, host);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export function vmHwmKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s*kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
