import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeName, encodeName } from '../../../protocol/byte-names.js';
import { compareNames, comparePaths, sortNames } from '../../../protocol/name-order.js';

const sign = (n: number) => Math.sign(n);

test('names compare as their bytes, whatever they hold (astral characters, bytes that are not UTF-8)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
      const byBytes = sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(sign(compareNames(decodeName(a), decodeName(b))), byBytes);
    }),
    { numRuns: 5000 },
  );
  // U+E000 (EE 80 80) sorts before U+1F600 (F0 9F 98 80) by bytes, after it by UTF-16 code units.
  assert.ok(compareNames('\ue000', '😀') < 0);
  assert.deepEqual(sortNames(['😀', '\ue000', 'b', 'a\udcff', 'a\udc80', 'é']), ['a\udc80', 'a\udcff', 'b', 'é', '\ue000', '😀']);
});

test("paths compare segment by segment: a directory right before its contents, '/' below every byte", () => {
  const paths = ['a-b', 'a/z', 'a', '', 'a/b/c', 'a.b', 'b', 'a/b'];
  assert.deepEqual([...paths].sort(comparePaths), ['', 'a', 'a/b', 'a/b/c', 'a/z', 'a-b', 'a.b', 'b']);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes(0x2f) && !s.includes(0)), { minLength: 1, maxLength: 3 }), fc.array(fc.uint8Array({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes(0x2f) && !s.includes(0)), { minLength: 1, maxLength: 3 }), (a, b) => {
      const join = (segments: Uint8Array[]) => segments.map((s) => decodeName(s)).join('/');
      // The reference: the byte strings with '/' as the lowest byte.
      const key = (segments: Uint8Array[]) => Buffer.concat(segments.flatMap((s, i) => (i === 0 ? [Buffer.from(s)] : [Buffer.of(0), Buffer.from(s)])));
      assert.equal(sign(comparePaths(join(a), join(b))), sign(Buffer.compare(key(a), key(b))));
      void encodeName;
    }),
    { numRuns: 3000 },
  );
});
