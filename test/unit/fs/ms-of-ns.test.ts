import assert from 'node:assert/strict';
import { lstatSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { msOfNs } from '../../../src/fs/scan.js';
import { tempDir } from '../../support/temp-dir.js';

test('a time in ns becomes the same ms as Node\'s own mtimeMs, before 1970 too', async () => {
  const dir = await tempDir();
  const file = join(dir, 'f');
  writeFileSync(file, '');
  for (const when of [new Date(1_500_000_001_234), new Date(-1_500_000_001_234), new Date(0), new Date(1_796_034_938_337)]) {
    utimesSync(file, when, when);
    const plain = lstatSync(file);
    const big = lstatSync(file, { bigint: true });
    assert.equal(msOfNs(big.mtimeNs), plain.mtimeMs, `${when.toISOString()}: ${big.mtimeNs} ns`);
  }
  // A hair below a millisecond stays on the millisecond Node shows, whatever the file system kept.
  assert.equal(Math.floor(msOfNs(1_500_000_001_233_999_967n)), Math.floor(1_500_000_001_000 + 233_999_967 / 1e6));
});
