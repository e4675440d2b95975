import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDigest } from '../../../src/digest/registry.js';
import { seededBytes } from '../../support/make-tree.js';

/** A digest as bytes, computed the way RangeDigest does (into a larger buffer). */
async function digestOf(name: 'xxh64' | 'xxh32', data: Uint8Array, wasm: boolean): Promise<string> {
  const digest = await loadDigest(name, { wasm });
  const out = Buffer.alloc(digest.size + 3);
  digest.into(data, out, 3);
  return out.subarray(3).toString('hex');
}

test('the native xxhash and xxhash-wasm give the same digests: peers may use either', async () => {
  const data = seededBytes(70_000, 'xxhash');
  for (const name of ['xxh64', 'xxh32'] as const) {
    // Lengths around the algorithms' internal strides, views at odd offsets included.
    for (const [start, length] of [[0, 0], [0, 1], [5, 3], [1, 31], [0, 32], [7, 33], [3, 8192], [0, 65_536], [11, 69_000]] as const) {
      const view = new Uint8Array(data.buffer, data.byteOffset + start, length);
      assert.equal(await digestOf(name, view, false), await digestOf(name, view, true), `${name} of ${length} bytes at ${start}`);
    }
  }
  // A known value: xxh64 of nothing (seed 0) is ef46db3751d8e999.
  assert.equal(await digestOf('xxh64', new Uint8Array(0), false), 'ef46db3751d8e999');
});

test('xxh64 digests land where asked in whichever buffer comes, views into bigger memory included', async () => {
  const digest = await loadDigest('xxh64');
  const wasm = await loadDigest('xxh64', { wasm: true }); // the expected values, computed apart
  const data = seededBytes(3 * 8192, 'views');
  const expected = [0, 1, 2].map((i) => {
    const out = Buffer.alloc(8);
    wasm.into(data.subarray(i * 8192, (i + 1) * 8192), out, 0);
    return out.toString('hex');
  });
  const memory = Buffer.alloc(64, 0xaa);
  const a = memory.subarray(5, 5 + 24); // a view at an odd offset of a larger buffer
  const b = Buffer.alloc(24);
  for (const i of [0, 1, 2]) {
    digest.into(data.subarray(i * 8192, (i + 1) * 8192), a, i * 8);
    digest.into(data.subarray(i * 8192, (i + 1) * 8192), b, 16 - i * 8); // alternating with `a`
  }
  assert.equal(a.toString('hex'), expected.join(''));
  assert.equal(b.toString('hex'), [expected[2], expected[1], expected[0]].join(''));
  assert.ok(memory.subarray(0, 5).every((byte) => byte === 0xaa) && memory.subarray(29).every((byte) => byte === 0xaa), 'nothing around the view is touched');
});
