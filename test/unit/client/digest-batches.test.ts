import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestBatches } from '../../../src/client/file-transfer.js';

const MiB = 1024 * 1024;

test('a big file is asked for in batches that start small and double up to 256 MiB', () => {
  const batches = digestBatches(1024, 1 * MiB);
  assert.deepEqual(batches.map((b) => b.count), [16, 32, 64, 128, 256, 256, 256, 16]);
  // Contiguous, and covering every chunk once.
  let next = 0;
  for (const batch of batches) {
    assert.equal(batch.from, next);
    next += batch.count;
  }
  assert.equal(next, 1024);
});

test('chunks bigger than the first batch are asked for one at a time at first', () => {
  assert.deepEqual(digestBatches(5, 64 * MiB).map((b) => b.count), [1, 2, 2]);
});

test('no batch asks for more digests than a request may carry', () => {
  assert.ok(digestBatches(100_000, 1024).every((b) => b.count <= 1024));
});

test('an empty file is one empty request', () => {
  assert.deepEqual(digestBatches(0, 1 * MiB), [{ from: 0, count: 0 }]);
});
