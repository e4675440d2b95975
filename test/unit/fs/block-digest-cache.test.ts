import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockDigestCache } from '../../../src/fs/block-digest-cache.js';

const digests = (n: number, fill: number) => Buffer.alloc(n, fill);

test('forgetChunk drops one chunk and keeps the others', () => {
  const cache = new BlockDigestCache(1024);
  cache.set('f', 0, digests(8, 1));
  cache.set('f', 1, digests(8, 2));
  cache.forgetChunk('f', 0);
  cache.forgetChunk('f', 7); // never cached: nothing happens
  cache.forgetChunk('other', 0);
  assert.equal(cache.get('f', 0), undefined);
  assert.deepEqual(cache.get('f', 1), digests(8, 2));
});

test('the budget counts bytes; the least recently hashed file goes first, never the current one', () => {
  const cache = new BlockDigestCache(32);
  cache.set('a', 0, digests(16, 1));
  cache.set('b', 0, digests(16, 2));
  cache.forgetChunk('a', 0);
  cache.set('b', 1, digests(16, 3)); // 32 bytes: fits once a's chunk was forgotten
  assert.deepEqual(cache.get('b', 0), digests(16, 2));
  cache.set('c', 0, digests(16, 4)); // over budget: b (oldest) goes
  assert.equal(cache.get('b', 0), undefined);
  cache.set('c', 1, digests(64, 5)); // bigger than the budget alone: kept, it is the current file
  assert.deepEqual(cache.get('c', 1), digests(64, 5));
});
