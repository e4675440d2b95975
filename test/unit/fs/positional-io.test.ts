import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { WRITE_PIECE, writeAt } from '../../../src/fs/positional-io.js';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isLocalFileSystem, WritePacer } from '../../../src/fs/write-pacer.js';
import { seededBytes } from '../../support/make-tree.js';
import { tempDir } from '../../support/temp-dir.js';

/** The synchronous path needs the temporary directory on a file system the pacer writes synchronously. */
const localTmp = isLocalFileSystem(statfsSync(tmpdir()).type) ? {} : { skip: `${tmpdir()} is not on a local file system the pacer knows` };
/** Never counts a write as slow: a loaded machine cannot send the pieces to the pool. */
const steady = () => new WritePacer({ slowMs: Infinity });

type Handle = Awaited<ReturnType<typeof open>>;

/** Records the lengths of the writes made through the handle (the thread pool's), which stays real. */
function recordWrites(fh: Handle): number[] {
  const lengths: number[] = [];
  const write = fh.write.bind(fh);
  fh.write = ((data: Uint8Array, offset: number, length: number, position: number) => {
    lengths.push(length);
    return write(data, offset, length, position);
  }) as typeof fh.write;
  return lengths;
}

/** Opens a new file whose writes through the handle are recorded. */
async function recordedFile(): Promise<{ file: string; fh: Handle; pooled: number[] }> {
  const file = join(await tempDir('pareco-pio-'), 'f');
  const fh = await open(file, 'w+');
  return { file, fh, pooled: recordWrites(fh) };
}

test('writeAt: on a local file system that answers fast, a chunk is written whole without the thread pool', localTmp, async () => {
  const { file, fh, pooled } = await recordedFile();
  const data = seededBytes(1024 * 1024 + 13, 'chunk');
  try {
    await writeAt(fh, file, data, 5, steady());
  } finally {
    await fh.close();
  }
  const written = await readFile(file);
  assert.equal(written.length, 5 + data.length);
  assert.ok(written.subarray(5).equals(data));
  assert.deepEqual(pooled, []);
});

test('writeAt: after a slow piece the rest goes through the thread pool, in pieces of WRITE_PIECE at most', localTmp, async () => {
  const { file, fh, pooled } = await recordedFile();
  const data = seededBytes(1024 * 1024 + 13, 'chunk');
  try {
    // Every synchronous write counts as slow: the first piece is written, the rest handed on.
    await writeAt(fh, file, data, 5, new WritePacer({ slowMs: -1 }));
  } finally {
    await fh.close();
  }
  const written = await readFile(file);
  assert.equal(written.length, 5 + data.length);
  assert.ok(written.subarray(5).equals(data));
  assert.ok(pooled.length >= 4 && pooled.every((length) => length <= WRITE_PIECE), `${pooled}`);
  assert.equal(pooled.reduce((a, b) => a + b, 0), data.length - WRITE_PIECE);
});

test('writeAt: a descriptor is written like a handle', async () => {
  const file = join(await tempDir('pareco-pio-'), 'fd');
  const fh = await open(file, 'w+');
  const data = seededBytes(3 * WRITE_PIECE + 1, 'fd');
  try {
    await writeAt(fh.fd, file, data, 0, pooledOnly());
  } finally {
    await fh.close();
  }
  assert.ok((await readFile(file)).equals(data));
});

/** A pacer that has just seen a slow write: every piece goes through the pool. */
function pooledOnly(): WritePacer {
  const pacer = new WritePacer({ slowMs: -1 });
  pacer.timed(() => 0);
  return pacer;
}

for (const [name, pacer, pooled] of [
  ['synchronously', steady, 0],
  ['through the thread pool', pooledOnly, 3],
] as const) {
  test(`writeAt: a failed write rejects once every piece has settled (${name})`, localTmp, async () => {
    const file = join(await tempDir('pareco-pio-'), 'ro');
    await (await open(file, 'w')).close();
    const fh = await open(file, 'r');
    const writes = recordWrites(fh);
    try {
      await assert.rejects(writeAt(fh, file, seededBytes(3 * WRITE_PIECE, 'ro'), 0, pacer()), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    } finally {
      await fh.close();
    }
    assert.equal(writes.length, pooled, 'the pieces went the way the pacer said');
    assert.equal((await readFile(file)).length, 0);
  });
}

test('writeAt: a closed handle fails with EBADF, not a write to whatever took its descriptor', async () => {
  const { file, fh } = await recordedFile();
  const closing = fh.close();
  await assert.rejects(writeAt(fh, file, seededBytes(100, 'late'), 0, steady()), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
  await closing;
  assert.equal((await readFile(file)).length, 0);
});
