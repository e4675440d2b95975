import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLocalFileSystem, WritePacer } from '../../../src/fs/write-pacer.js';
import { tempDir } from '../../support/temp-dir.js';

const localTmp = isLocalFileSystem(statfsSync(tmpdir()).type) ? {} : { skip: `${tmpdir()} is not on a local file system the pacer knows` };

/** Keeps the thread busy for `ms`, as a write waiting for the disk would. */
function busy(ms: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return 0;
}

test('WritePacer: a file on a local file system is written synchronously', localTmp, async () => {
  const file = join(await tempDir('pareco-pacer-'), 'f');
  const fh = await open(file, 'w');
  try {
    assert.equal(new WritePacer().local(fh.fd, file), true);
  } finally {
    await fh.close();
  }
});

test('WritePacer: a file system it does not know as local (here procfs) never is', async () => {
  const fh = await open('/proc/self/status', 'r');
  try {
    assert.equal(new WritePacer().local(fh.fd, '/proc/self/status'), false);
  } finally {
    await fh.close();
  }
});

test('WritePacer: local or not is decided per device, so a mount inside the tree counts as what it is', localTmp, async () => {
  const pacer = new WritePacer();
  const file = join(await tempDir('pareco-pacer-'), 'f');
  const [local, proc] = await Promise.all([open(file, 'w'), open('/proc/self/status', 'r')]);
  try {
    assert.equal(pacer.local(local.fd, file), true);
    assert.equal(pacer.local(proc.fd, '/proc/self/status'), false);
    assert.equal(pacer.local(local.fd, file), true);
  } finally {
    await Promise.all([local.close(), proc.close()]);
  }
});

test('WritePacer: a slow write sends the next ones to the thread pool for a while, then it tries again', async () => {
  const pacer = new WritePacer({ slowMs: 100, poolMs: 300 });
  assert.equal(pacer.timed(() => 7), 7);
  assert.equal(pacer.calm(), true, 'a fast write changes nothing');
  pacer.timed(() => busy(150));
  assert.equal(pacer.calm(), false);
  await sleep(400);
  assert.equal(pacer.calm(), true);
});

test('WritePacer: a write that throws is timed too', () => {
  const pacer = new WritePacer({ slowMs: 100, poolMs: 300 });
  assert.throws(() =>
    pacer.timed(() => {
      busy(150);
      throw new Error('EIO');
    }),
  );
  assert.equal(pacer.calm(), false);
});
