import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { WRITE_PIECE, writeAt } from '../../../src/fs/positional-io.js';
import { seededBytes } from '../../support/make-tree.js';
import { tempDir } from '../../support/temp-dir.js';

test('writeAt: a chunk goes to the file whole, in pieces of WRITE_PIECE at most', async () => {
  const file = join(await tempDir('pareco-pio-'), 'f');
  const fh = await open(file, 'w+');
  const lengths: number[] = [];
  const write = fh.write.bind(fh);
  // The real handle, its writes recorded on their way through.
  fh.write = ((data: Uint8Array, offset: number, length: number, position: number) => {
    lengths.push(length);
    return write(data, offset, length, position);
  }) as typeof fh.write;
  const data = seededBytes(1024 * 1024 + 13, 'chunk');
  try {
    await writeAt(fh, data, 5);
  } finally {
    await fh.close();
  }
  const written = await readFile(file);
  assert.equal(written.length, 5 + data.length);
  assert.ok(written.subarray(5).equals(data));
  assert.ok(lengths.every((length) => length <= WRITE_PIECE), `${lengths}`);
  assert.equal(lengths.reduce((a, b) => a + b, 0), data.length);
});

test('writeAt: a failed write rejects once every piece has settled', async () => {
  const file = join(await tempDir('pareco-pio-'), 'ro');
  await (await open(file, 'w')).close();
  const fh = await open(file, 'r');
  try {
    await assert.rejects(writeAt(fh, seededBytes(3 * WRITE_PIECE, 'ro'), 0), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
  } finally {
    await fh.close();
  }
  assert.equal((await readFile(file)).length, 0);
});
