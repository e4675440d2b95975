import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});

test('--max-delete: more entries to delete than allowed deletes none, warns, exit 25', async () => {
  const work = await tempDir();
  const source = join(work, 'src');
  const dest = join(work, 'dst');
  await makeTree(source, { 'keep.txt': 'k' });
  await makeTree(dest, { 'keep.txt': 'k', 'a.txt': 'a', 'b.txt': 'b', 'd/c.txt': 'c' });
  const args = ['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '--delete'];

  const refused = await runPareco([...args, '--max-delete', '3']);
  assert.equal(refused.code, 25, refused.stderr);
  assert.match(refused.stderr, /^pareco: warning: not deleting anything: 4 entries would be deleted, more than --max-delete 3$/m);
  assert.deepEqual((await readdir(dest)).sort(), ['a.txt', 'b.txt', 'd', 'keep.txt']);

  const allowed = await runPareco([...args, '--max-delete', '4']);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
});

test('--max-delete 0 refuses any deletion; bad values are usage errors', async () => {
  const work = await tempDir();
  await makeTree(join(work, 'src'), {});
  await makeTree(join(work, 'dst'), { 'x.txt': 'x' });
  const result = await runPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', join(work, 'dst'), '-s', server.url, '--delete', '--max-delete', '0', '--json']);
  assert.equal(result.code, 25);
  assert.equal(result.summary?.deletionsRefused, 1);
  assert.deepEqual(await readdir(join(work, 'dst')), ['x.txt']);
  for (const bad of ['-1', 'many', '1.5']) {
    const usage = await runPareco(['-m', 'upload', '-l', work, '-r', work, '--max-delete', bad]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^pareco: option '--max-delete <n>' argument .* is invalid/);
  }
});

test('--bwlimit holds the rate across all connections', async () => {
  const work = await tempDir();
  const source = join(work, 'src');
  // 1.5 MiB at 1 MiB/s over 4 lanes: the first chunk goes at once, the rest waits its turn.
  await makeTree(source, { 'a.bin': seededBytes(1024 * 1024, 'a'), 'b.bin': seededBytes(512 * 1024, 'b') });
  const started = performance.now();
  const result = await runPareco(['-m', 'upload', '-l', source, '-r', join(work, 'dst'), '-s', server.url, '-n', '4', '-c', '256K', '--bwlimit', '1M']);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await snapshotTree(join(work, 'dst')), await snapshotTree(source));
  // 6 chunks of 256 KiB: 5 wait a quarter of a second each after the first.
  assert.ok(seconds >= 1.2, `took ${seconds.toFixed(2)}s, faster than the limit allows`);
  for (const bad of ['0', '10', 'fast']) {
    const usage = await runPareco(['-m', 'upload', '-l', source, '-r', join(work, 'x'), '--bwlimit', bad]);
    assert.equal(usage.code, 2, bad);
    assert.match(usage.stderr, /--bwlimit/);
  }
});
