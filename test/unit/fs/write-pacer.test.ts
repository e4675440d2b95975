import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WritePacer } from '../../../src/fs/write-pacer.js';
import { tempDir } from '../../support/temp-dir.js';

/** Keeps the thread busy for `ms`, as a write waiting for the disk would. */
function busy(ms: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return 0;
}

test('WritePacer: a local file system is written synchronously', async () => {
  const file = join(await tempDir('pareco-pacer-'), 'f');
  assert.equal(new WritePacer().synchronous(file), true);
});

test('WritePacer: a file system it does not know as local (here procfs) never is', () => {
  assert.equal(new WritePacer().synchronous('/proc/self/x'), false);
});

test('WritePacer: a directory it cannot look at is not written synchronously', async () => {
  const file = join(await tempDir('pareco-pacer-'), 'missing', 'deeper', 'f');
  assert.equal(new WritePacer().synchronous(file), false);
});

test('WritePacer: a slow write sends the next ones to the thread pool for a while, then it tries again', async () => {
  const file = join(await tempDir('pareco-pacer-'), 'f');
  const pacer = new WritePacer({ slowMs: 20, poolMs: 200 });
  assert.equal(pacer.timed(() => busy(1)), 0);
  assert.equal(pacer.synchronous(file), true, 'a fast write changes nothing');
  pacer.timed(() => busy(30));
  assert.equal(pacer.synchronous(file), false);
  await sleep(250);
  assert.equal(pacer.synchronous(file), true);
});

test('WritePacer: a write that throws is timed too', async () => {
  const file = join(await tempDir('pareco-pacer-'), 'f');
  const pacer = new WritePacer({ slowMs: 20, poolMs: 200 });
  assert.throws(() =>
    pacer.timed(() => {
      busy(30);
      throw new Error('EIO');
    }),
  );
  assert.equal(pacer.synchronous(file), false);
});
