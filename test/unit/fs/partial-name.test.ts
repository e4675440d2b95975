import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPartialName, partialName, targetOfPartialName } from '../../../src/fs/partial-name.js';

const SUFFIX = '.pareco-partial';

describe('partial names', () => {
  test('round trip for ordinary names', () => {
    for (const name of ['a', 'file.txt', '.hidden', 'with space', 'ü 日本.txt', 'x.pareco-partial', '😀', '-', '..a']) {
      const partial = partialName(name);
      assert.equal(partial, `.${name}${SUFFIX}`);
      assert.equal(isPartialName(partial), true, partial);
      assert.equal(targetOfPartialName(partial), name, partial);
    }
  });

  test('names up to the limit keep the plain form (255 bytes)', () => {
    const longest = 'x'.repeat(255 - 1 - SUFFIX.length);
    assert.equal(Buffer.byteLength(partialName(longest)), 255);
    assert.equal(partialName(longest), `.${longest}${SUFFIX}`);
    assert.equal(targetOfPartialName(partialName(longest)), longest);
    // Multi-byte: 119 × 'é' (2 bytes) + 16 = 254 bytes fits.
    const wide = 'é'.repeat(119);
    assert.equal(targetOfPartialName(partialName(wide)), wide);
  });

  test('long names get a hashed name within 255 bytes that is still a partial name', () => {
    const names = ['x'.repeat(240), 'x'.repeat(255), 'é'.repeat(120), '日'.repeat(85), '😀'.repeat(63), 'a'.repeat(1000)];
    for (const name of names) {
      const partial = partialName(name);
      assert.notEqual(partial, `.${name}${SUFFIX}`);
      assert.ok(Buffer.byteLength(partial) <= 255, `${Buffer.byteLength(partial)} bytes`);
      assert.ok(partial.startsWith('.') && partial.endsWith(`${SUFFIX}-h`), partial);
      assert.equal(isPartialName(partial), true);
      assert.equal(partialName(name), partial, 'deterministic');
    }
  });

  test('different long names get different hashed names', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(partialName(`${'n'.repeat(250)}${i}`));
    assert.equal(seen.size, 200);
  });

  test('targetOfPartialName is undefined for hashed (overlong) names', () => {
    // The documented contract: a hashed name does not stand for a recoverable target.
    for (const name of ['x'.repeat(240), 'é'.repeat(120), 'a'.repeat(1000)]) {
      const partial = partialName(name);
      assert.equal(targetOfPartialName(partial), undefined, `${partial} should have no target`);
    }
  });

  test('isPartialName rejects names without the dot, without the suffix, or with nothing between', () => {
    // '..pareco-partial' would be the partial of an empty name, which cannot exist.
    for (const name of ['a', 'a.pareco-partial', SUFFIX, `.${SUFFIX}`, '.a.pareco-partia', '.a.pareco-partial.x', '']) {
      assert.equal(isPartialName(name), false, JSON.stringify(name));
      assert.equal(targetOfPartialName(name), undefined, JSON.stringify(name));
    }
  });

  test('targetOfPartialName is undefined for names that look partial but are not made by partialName', () => {
    // An overlong "target" could never have produced this plain form.
    const fake = `.${'x'.repeat(300)}${SUFFIX}`;
    assert.equal(isPartialName(fake), true);
    assert.equal(targetOfPartialName(fake), undefined);
  });
});
