import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { comparePaths, ErrorCode, ParecoError, type Entry } from '../../../protocol/index.js';
import { mergeListings, type Pair } from '../../../src/client/listing-merge.js';

const entry = (path: string, kind: Entry['kind'] = 'f'): Entry => ({ path, kind, size: 0, mtime: 0, mode: 0o644 });

/** A listing in batches of the given sizes (cycled). */
async function* listing(entries: Entry[], sizes: number[] = [2]): AsyncGenerator<Entry[]> {
  for (let i = 0, k = 0; i < entries.length; k++) {
    const size = sizes[k % sizes.length]!;
    yield entries.slice(i, i + size);
    i += size;
  }
}

async function merged(src: Entry[], dst: Entry[], srcSizes?: number[], dstSizes?: number[]): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for await (const group of mergeListings(listing(src, srcSizes), listing(dst, dstSizes))) pairs.push(...group);
  return pairs;
}

describe('mergeListings', () => {
  test('one pair per path, in canonical order, with what each side has', async () => {
    const pairs = await merged(
      ['', 'a', 'a/x', 'a-b', 'c'].map((p) => entry(p, p === '' || p === 'a' ? 'd' : 'f')),
      ['', 'a', 'a/y', 'b', 'c'].map((p) => entry(p, p === '' || p === 'a' ? 'd' : 'f')),
    );
    assert.deepEqual(
      pairs.map((p) => [p.path, p.src !== undefined, p.dst !== undefined]),
      [['', true, true], ['a', true, true], ['a/x', true, false], ['a/y', false, true], ['a-b', true, false], ['b', false, true], ['c', true, true]],
    );
  });

  test('a listing out of order is refused (a broken or hostile peer)', async () => {
    await assert.rejects(merged([entry('b'), entry('a')], []), (error: unknown) => error instanceof ParecoError && error.code === ErrorCode.PROTOCOL && /source listing is out of order/.test(error.message));
    await assert.rejects(merged([], [entry('a'), entry('a')]), /destination listing is out of order/);
  });

  test('any two trees, any batch sizes: the pairs are the union of the paths, in order', async () => {
    const name = fc.stringMatching(/^[a-c\-.é😀]{1,3}$/u);
    const tree = fc.uniqueArray(fc.array(name, { minLength: 1, maxLength: 3 }).map((segments) => segments.join('/')), { maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(tree, tree, fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), async (a, b, sizes) => {
        const sorted = (paths: string[]) => [...paths].sort(comparePaths).map((p) => entry(p));
        const pairs = await merged(sorted(a), sorted(b), sizes, [...sizes].reverse());
        const union = [...new Set([...a, ...b])].sort(comparePaths);
        assert.deepEqual(pairs.map((p) => p.path), union);
        for (const pair of pairs) {
          assert.equal(pair.src !== undefined, a.includes(pair.path));
          assert.equal(pair.dst !== undefined, b.includes(pair.path));
        }
      }),
      { numRuns: 300 },
    );
  });
});
