import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { open, mkdir, writeFile, utimes } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { onCleanup } from '../support/cleanup.js';
import { seededBytes } from '../support/make-tree.js';
import { CLIENT_BIN } from '../support/paths.js';
import { testEnvironment } from '../support/run-cli.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';

/** A listener that accepts connections and never answers: a hung server or a black-holing firewall. */
async function blackHole(): Promise<{ port: number; accepted: () => number }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, accepted: () => sockets.length };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Run {
  child: ChildProcess;
  /** Resolves with the exit code, the output, and when the process ended. */
  done: Promise<{ code: number | null; stdout: string; stderr: string; endedAt: number }>;
}

/** Starts the real CLI; the caller may signal it while it runs. */
function startPareco(args: string[]): Run {
  const child = spawn(process.execPath, [CLIENT_BIN, ...args], { env: testEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; endedAt: number }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, endedAt: Date.now() });
    }),
  );
  onCleanup(() => void child.kill('SIGKILL'));
  return { child, done };
}

const summaryOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((event) => event.type === 'summary');

let work: string;
before(async () => {
  work = await tempDir('pareco-interrupts-');
  await mkdir(join(work, 'src'));
  await writeFile(join(work, 'src', 'a.txt'), 'hello');
});

describe('a server that accepts but never answers', () => {
  test('each failed attempt is a line with the reason and the next wait; --json has matching events', async () => {
    const hole = await blackHole();
    const url = `http://127.0.0.1:${hole.port}`;
    const started = Date.now();
    const human = startPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', '/tmp/x', '-s', url, '--connect-timeout', '300ms', '--retries', '2', '--retry-wait', '100ms']);
    const json = startPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', '/tmp/x', '-s', url, '--connect-timeout', '300ms', '--retries', '2', '--retry-wait', '100ms', '--json']);
    const [h, j] = await Promise.all([human.done, json.done]);
    assert.equal(h.code, 1, h.stderr);
    const retries = h.stderr.split('\n').filter((line) => line.includes('retrying in'));
    assert.equal(retries.length, 2, h.stderr);
    assert.match(retries[0]!, /^pareco: warning: cannot reach ws:\/\/127\.0\.0\.1:\d+\/v1\/ws: no answer within 0\.3s \(handshake timed out\); retrying in [\d.]+s \(retry 1 of 2\)$/);
    assert.match(retries[1]!, /\(retry 2 of 2\)$/);
    assert.match(h.stderr, /pareco: error: cannot reach .*handshake timed out/);
    assert.ok(Date.now() - started < 15_000);
    const events = j.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const retryEvents = events.filter((e) => e.type === 'retry');
    assert.deepEqual(retryEvents.map((e) => [e.phase, e.retry, e.retries, e.code]), [['connect', 1, 2, 'TIMEOUT'], ['connect', 2, 2, 'TIMEOUT']]);
    assert.equal(typeof retryEvents[0]!.waitMs, 'number');
    assert.equal(events[0]!.type, 'connecting');
    assert.equal(j.code, 1);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} while connecting ends the client within 2 s, exit 130, with a summary`, async () => {
      const hole = await blackHole();
      const run = startPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', '/tmp/x', '-s', `http://127.0.0.1:${hole.port}`, '--json']);
      while (hole.accepted() === 0) await sleep(20);
      await sleep(300);
      const signalled = Date.now();
      run.child.kill(signal);
      const result = await run.done;
      assert.equal(result.code, 130, result.stderr);
      assert.ok(result.endedAt - signalled < 2000, `took ${result.endedAt - signalled} ms`);
      assert.equal(summaryOf(result.stdout)?.aborted, true);
      assert.doesNotMatch(result.stderr, /Warning|at .*\.js:\d+/);
    });
  }

  test('SIGINT while waiting between retries ends it at once', async () => {
    const hole = await blackHole();
    const run = startPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', '/tmp/x', '-s', `http://127.0.0.1:${hole.port}`, '--connect-timeout', '200ms', '--retry-wait', '20s', '--json']);
    while (hole.accepted() === 0) await sleep(20);
    await sleep(600); // the attempt timed out: now waiting ~10-30 s
    const signalled = Date.now();
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.ok(result.endedAt - signalled < 2000, `took ${result.endedAt - signalled} ms`);
  });
});

test('a refused port fails at once, with one line and no retries', async () => {
  const port = await freePort();
  const started = Date.now();
  const run = startPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', '/tmp/x', '-s', `http://127.0.0.1:${port}`]);
  const result = await run.done;
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^pareco: error: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws: connection refused\n$/);
  assert.ok(Date.now() - started < 5000);
});

describe('a server that goes away mid-sync', () => {
  test('one line says so (not one per connection), no runtime warning, and Ctrl-C while reconnecting ends it within 2 s', async () => {
    // It shuts down for good: the drain gives running sessions only 200 ms.
    const server = await startServerProcess(['--drain-timeout', '200ms']);
    const big = join(work, 'big');
    await mkdir(big, { recursive: true });
    const fh = await open(join(big, 'f.bin'), 'w');
    const block = seededBytes(1024 * 1024, 'gone');
    for (let i = 0; i < 64; i++) {
      block.writeUInt32BE(i, 0);
      await fh.write(block, 0, block.length, i * block.length);
    }
    await fh.close();
    const run = startPareco(['-m', 'upload', '-l', big, '-r', join(work, 'gone-dst'), '-s', server.url, '-n', '16', '--bwlimit', '8M', '--retry-wait', '300ms']);
    await sleep(1500);
    await server.stop('SIGTERM');
    await sleep(2500); // reconnecting to nothing: refused, retried
    const signalled = Date.now();
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.ok(result.endedAt - signalled < 2000, `took ${result.endedAt - signalled} ms`);
    const dropped = result.stderr.split('\n').filter((line) => line.includes('connections dropped'));
    assert.equal(dropped.length, 1, result.stderr);
    assert.match(dropped[0]!, /^pareco: warning: all 16 connections dropped: .*; reconnecting$/);
    assert.doesNotMatch(result.stderr, /MaxListenersExceededWarning|Warning:/);
    // The attempts while every lane is down are reported once per attempt, not per lane.
    const retries = result.stderr.split('\n').filter((line) => line.includes('retrying in'));
    assert.ok(retries.length >= 1 && retries.length <= 4, result.stderr);
    assert.equal(new Set(retries.map((line) => /retry (\d+) of/.exec(line)?.[1])).size, retries.length, result.stderr);
  });
});

test('Ctrl-C while hashing a huge file ends the client within 2 s', async () => {
  const server = await startServerProcess();
  const src = join(work, 'huge-src');
  const dst = join(work, 'huge-dst');
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  // Sparse 64 GiB files on both sides: comparing them hashes every byte (sha512: well over 2 s).
  for (const dir of [src, dst]) {
    const fh = await open(join(dir, 'huge.bin'), 'w');
    await fh.truncate(64 * 1024 ** 3);
    await fh.close();
  }
  await utimes(join(src, 'huge.bin'), new Date(), new Date(1_600_000_000_000));
  const run = startPareco(['-m', 'upload', '-l', src, '-r', dst, '-s', server.url, '--hash', 'sha512', '--json']);
  await sleep(1500);
  const signalled = Date.now();
  run.child.kill('SIGINT');
  const result = await run.done;
  assert.equal(result.code, 130, result.stderr);
  assert.ok(result.endedAt - signalled < 2000, `took ${result.endedAt - signalled} ms`);
  assert.equal(summaryOf(result.stdout)?.aborted, true);
});
