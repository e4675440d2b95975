import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { RangeDigest } from '../../../src/digest/range-digest.js';
import { loadDigest } from '../../../src/digest/registry.js';
import type { HashName } from '../../../protocol/index.js';

const digestOf = async (name: HashName, data: Uint8Array): Promise<string> => {
  const digest = await loadDigest(name);
  const out = Buffer.alloc(digest.size + 4, 0xee);
  digest.into(data, out, 2); // written at the offset, nothing around it touched
  assert.equal(out.subarray(0, 2).toString('hex'), 'eeee');
  assert.equal(out.subarray(2 + digest.size).toString('hex'), 'eeee');
  return out.subarray(2, 2 + digest.size).toString('hex');
};

test('each algorithm gives its published digest, big-endian, of its documented size', async () => {
  const abc = Buffer.from('abc');
  assert.equal(await digestOf('xxh64', Buffer.alloc(0)), 'ef46db3751d8e999');
  assert.equal(await digestOf('xxh64', abc), '44bc2cf5ad770999');
  assert.equal(await digestOf('xxh32', Buffer.alloc(0)), '02cc5d05');
  assert.equal(await digestOf('xxh32', abc), '32d153ff');
  assert.equal(await digestOf('crc32', abc), '352441c2');
  for (const name of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
    assert.equal(await digestOf(name, abc), createHash(name).update(abc).digest('hex'), name);
  }
});

test('block digests are the digests of each block, the last one short; the range digest hashes them', async () => {
  const xxh64 = await loadDigest('xxh64');
  const range = new RangeDigest(xxh64, 4);
  // A view into a bigger buffer: the blocks must be read from the view's own offset.
  const backing = Buffer.from('XXXXabcdefghijYYYY');
  const data = backing.subarray(4, 14); // "abcdefghij": blocks "abcd", "efgh", "ij"
  const expected = Buffer.concat(['abcd', 'efgh', 'ij'].map((s) => {
    const out = Buffer.alloc(8);
    xxh64.into(Buffer.from(s), out, 0);
    return out;
  }));
  const blocks = range.blocks(data);
  assert.deepEqual(blocks, expected);
  assert.deepEqual(range.at(blocks, 2), expected.subarray(16, 24));
  assert.equal(range.at(blocks, 3), undefined);
  const combined = Buffer.alloc(8);
  xxh64.into(expected, combined, 0);
  assert.deepEqual(range.of(data), combined);
  assert.deepEqual(range.combine(blocks), combined);
  assert.equal(range.blocks(Buffer.alloc(0)).length, 0);
});
