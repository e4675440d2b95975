import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { onCleanup } from '../support/cleanup.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { seededBytes } from '../support/make-tree.js';
import { CLIENT_BIN } from '../support/paths.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const MiB = 1024 * 1024;

/** A big file written fast: a seeded 1 MiB block, stamped with its index so no two MiB match. */
async function bigFile(path: string, mib: number, seed: string): Promise<void> {
  const block = seededBytes(MiB, seed);
  const fh = await open(path, 'w');
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    block.writeUInt32BE(i, MiB / 2);
    await fh.write(block, 0, MiB, i * MiB);
  }
  await fh.close();
}

/** Resolves once a partial file in `dir` has at least `bytes` of data on disk (or gives up). */
async function waitForPartialData(dir: string, bytes: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.pareco-partial')) continue;
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st !== undefined && st.blocks * 512 >= bytes) return true;
    }
    await sleep(5);
  }
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function args(mode: 'upload' | 'download', src: string, dst: string, url: string): string[] {
  return ['-m', mode, ...(mode === 'upload' ? ['-l', src, '-r', dst] : ['-l', dst, '-r', src]), '-s', url, '--json'];
}

function assertOk(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout.slice(-3000)}`);
  return result.summary!;
}

for (const mode of ['upload', 'download'] as const) {
  describe(`faults (${mode})`, () => {
    let dir: string;
    let src: string;
    const size = 160 * MiB;
    before(async () => {
      dir = await tempDir(`pareco-faults-${mode}-`);
      src = join(dir, 'src');
      await mkdir(src);
      await bigFile(join(src, 'big.bin'), size / MiB, 'faults');
      await writeFile(join(src, 'small.txt'), 'small');
    });

    test('a random connection cut every 200 ms: completes, byte-identical, little resent', async (t) => {
      const server = await startServerProcess([]);
      const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } });
      onCleanup(() => proxy.close()); // a failed assertion must not leave the listener keeping this file alive
      const stop = proxy.cutEvery(200);
      const dst = join(dir, 'cut-dst');
      const result = await runPareco([...args(mode, src, dst, proxy.url), '-n', '4', '--retry-wait', '100ms', '--retries', '20'], { timeoutMs: 120_000 });
      stop();
      const summary = assertOk(result);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
      const moved = mode === 'upload' ? proxy.bytesUp : proxy.bytesDown;
      const extra = moved - size;
      t.diagnostic(`${proxy.acceptedCount} connections, ${summary.retriedRequests} requests retried, ${(extra / MiB).toFixed(1)} MiB extra (${((extra / size) * 100).toFixed(1)}% of ${size / MiB} MiB)`);
      assert.ok(proxy.acceptedCount > 4, 'connections were cut and reopened');
      assert.ok(extra < size * 0.5, `extra bytes ${extra}`);
      await proxy.close();
      await server.stop();
    });

    test('the server restarts mid-sync: the client rejoins with a new session and finishes', async (t) => {
      const port = await freePort();
      const first = await startServerProcess(['-p', String(port)]);
      const dst = join(dir, 'restart-dst');
      const watched = mode === 'upload' ? dst : dst;
      const client = runPareco([...args(mode, src, dst, first.url), '-n', '2', '--retry-wait', '200ms', '--retries', '30'], { timeoutMs: 120_000 });
      assert.ok(await waitForPartialData(watched, size / 3), 'transfer started');
      await first.stop('SIGKILL');
      await sleep(300);
      const second = await startServerProcess(['-p', String(port)]);
      const result = await client;
      const summary = assertOk(result);
      assert.ok((summary.sessionRestarts as number) >= 1, 'a new session was started');
      t.diagnostic(`after the restart: ${((summary.bytesTransferred as number) / MiB).toFixed(1)} MiB sent of ${size / MiB} MiB`);
      assert.ok((summary.bytesTransferred as number) < size * 0.8, 'the new session reused what was written');
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
      await second.stop();
    });

    test('server SIGKILL half way, then a rerun sends only what is missing', async (t) => {
      const server = await startServerProcess([]);
      const dst = join(dir, 'kill-server-dst');
      const client = runPareco([...args(mode, src, dst, server.url), '-n', '2', '--retries', '1', '--retry-wait', '50ms'], { timeoutMs: 120_000 });
      assert.ok(await waitForPartialData(dst, size / 2), 'half written');
      await server.stop('SIGKILL');
      const failed = await client;
      assert.notEqual(failed.code, 0);
      const again = await startServerProcess([]);
      const summary = assertOk(await runPareco(args(mode, src, dst, again.url)));
      t.diagnostic(`rerun sent ${((summary.bytesTransferred as number) / MiB).toFixed(1)} MiB of ${size / MiB} MiB`);
      assert.ok((summary.bytesTransferred as number) <= size * 0.55, `rerun sent ${summary.bytesTransferred}`);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
      await again.stop();
    });

    test('client SIGKILL half way, then a rerun sends only what is missing', async (t) => {
      const server = await startServerProcess([]);
      const dst = join(dir, 'kill-client-dst');
      const child = spawn(process.execPath, [CLIENT_BIN, ...args(mode, src, dst, server.url), '-n', '2'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      assert.ok(await waitForPartialData(dst, size / 2), 'half written');
      child.kill('SIGKILL');
      await exited;
      // The killed client's session still holds the directory lock, but has no lane left: it gives way.
      const summary = assertOk(await runPareco(args(mode, src, dst, server.url)));
      t.diagnostic(`rerun sent ${((summary.bytesTransferred as number) / MiB).toFixed(1)} MiB of ${size / MiB} MiB`);
      assert.ok((summary.bytesTransferred as number) <= size * 0.55, `rerun sent ${summary.bytesTransferred}`);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
      await server.stop();
    });

    test('Ctrl-C: the summary so far, exit 130, partial kept; the rerun resumes', async () => {
      const server = await startServerProcess([]);
      const dst = join(dir, 'sigint-dst');
      const child = spawn(process.execPath, [CLIENT_BIN, ...args(mode, src, dst, server.url), '-n', '2'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.ok(await waitForPartialData(dst, size / 4), 'transfer started');
      child.kill('SIGINT');
      assert.equal(await exited, 130);
      const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(summary.type, 'summary');
      assert.equal(summary.aborted, true);
      assert.equal(summary.ok, false);
      assert.ok((await readdir(dst)).some((n) => n.endsWith('.pareco-partial')), 'partial file kept');
      const rerun = assertOk(await runPareco(args(mode, src, dst, server.url)));
      assert.ok((rerun.bytesTransferred as number) < size * 0.9);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
      await server.stop();
    });
  });
}

describe('faults (both directions)', () => {
  test('a stalled link: dead lanes are detected by heartbeat and replaced; the sync finishes', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await bigFile(join(src, 'f.bin'), 48, 'stall');
    const server = await startServerProcess([]);
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } });
    onCleanup(() => proxy.close()); // a failed assertion must not leave the listener keeping this file alive
    const dst = join(dir, 'dst');
    const client = runPareco(
      [...args('upload', src, dst, proxy.url), '-n', '2', '-t', '1s', '--heartbeat', '200ms', '--connect-timeout', '1s', '--retry-wait', '100ms', '--retries', '30'],
      { timeoutMs: 120_000 },
    );
    assert.ok(await waitForPartialData(dst, 4 * MiB), 'transfer started');
    proxy.stall();
    await sleep(2500);
    proxy.resume();
    const result = await client;
    assertOk(result);
    assert.ok(result.events.some((e) => e.type === 'lost'));
    assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
    await proxy.close();
    await server.stop();
  });

  test('disk full: a clear error naming the file, exit 23, the old version intact', async (t) => {
    const dir = await tempDir();
    const mount = join(dir, 'small-fs');
    await mkdir(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      t.skip('cannot mount a tmpfs here (not root?)');
      return;
    }
    try {
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'huge.bin'), seededBytes(2 * MiB, 'huge-new'));
      await writeFile(join(src, 'a-small.txt'), 'fits');
      const old = seededBytes(MiB, 'huge-old');
      await writeFile(join(mount, 'huge.bin'), old);
      const server = await startServerProcess([]);
      const result = await runPareco(args('upload', src, mount, server.url));
      assert.equal(result.code, 23, result.stderr + result.stdout);
      const error = result.events.find((e) => e.type === 'error');
      assert.match(String(error?.message), /huge\.bin: no space left on device/);
      assert.equal(error?.code, 'NO_SPACE');
      const { readFile } = await import('node:fs/promises');
      assert.deepEqual(await readFile(join(mount, 'huge.bin')), old, 'the previous version is intact');
      assert.equal(await readFile(join(mount, 'a-small.txt'), 'utf8'), 'fits');
      await server.stop();
    } finally {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    }
  });
});
