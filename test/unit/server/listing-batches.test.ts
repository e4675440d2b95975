import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../../../protocol/index.js';
import { ListingBatches } from '../../../src/server/listing-batches.js';

const entry = (path: string): Entry => ({ path, kind: 'f', size: 0, mtime: 0, mode: 0o644 });

/** A listing of `n` batches of one entry each, counting how often it was started. */
function listing(n: number) {
  const started: boolean[] = [];
  const open = (digests: boolean) => {
    started.push(digests);
    return (async function* () {
      for (let i = 0; i < n; i++) yield [entry(`e${i}`)];
    })();
  };
  return { batches: new ListingBatches(open), started };
}

test('batches asked out of order (they come on different lanes) are made in order', async () => {
  const { batches, started } = listing(5);
  const asked = [3, 1, 0, 2].map((seq) => batches.batch(seq, true));
  const got = await Promise.all(asked);
  assert.deepEqual(got.map((b) => b.entries[0]!.path), ['e3', 'e1', 'e0', 'e2']);
  assert.deepEqual(started, [true]);
});

test('a batch asked again is answered again; past the end come empty done batches', async () => {
  const { batches } = listing(2);
  assert.equal((await batches.batch(0, false)).entries[0]!.path, 'e0');
  assert.equal((await batches.batch(0, false)).entries[0]!.path, 'e0', 'asked again: not a new listing');
  assert.equal((await batches.batch(1, false)).done, false);
  assert.deepEqual(await batches.batch(2, false), { entries: [], done: true });
  assert.deepEqual(await batches.batch(4, false), { entries: [], done: true });
  assert.deepEqual(await batches.batch(3, false), { entries: [], done: true });
});

test('a client cannot make the server list without bound, nor ask before batch 0', async () => {
  const fresh = listing(100).batches;
  await assert.rejects(fresh.batch(20, false), /asked before batch 0/);
  const { batches } = listing(100);
  await batches.batch(0, false);
  await assert.rejects(batches.batch(50, false), /too far ahead/);
});
