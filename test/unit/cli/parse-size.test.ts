import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSize, parseSize } from '../../../src/cli/parse-size.js';

const K = 1024;
const M = 1024 ** 2;
const G = 1024 ** 3;
const T = 1024 ** 4;

describe('parseSize', () => {
  const valid: [string, number][] = [
    ['200', 200],
    ['0', 0],
    ['30K', 30 * K],
    ['30k', 30 * K],
    ['2M', 2 * M],
    ['2m', 2 * M],
    ['1G', G],
    ['1g', G],
    ['1T', T],
    ['1.5M', 1.5 * M],
    ['1.5K', 1536],
    ['0.5K', 512],
    ['64KiB', 64 * K],
    ['64kib', 64 * K],
    ['64KB', 64 * K],
    ['64kb', 64 * K],
    ['2MiB', 2 * M],
    ['100B', 100],
    ['100b', 100],
    [' 2m ', 2 * M],
    ['2 M', 2 * M],
    ['\t8k\n', 8 * K],
    ['007', 7],
  ];
  for (const [text, bytes] of valid) {
    test(`${JSON.stringify(text)} is ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
  }

  const invalid = ['', ' ', 'abc', '-1', '-1K', '+1', '1X', '1KX', 'K', '1.', '.5K', '1,5K', '1e3', '0x10', '1 2', 'Infinity', 'NaN', '1KK', '1 K iB', '1KiBB'];
  for (const text of invalid) {
    test(`${JSON.stringify(text)} is rejected`, () => assert.throws(() => parseSize(text), Error));
  }

  test('a fractional number of bytes is rejected', () => {
    assert.throws(() => parseSize('1.5'), /whole number of bytes/);
    assert.throws(() => parseSize('0.1'), /whole number of bytes/);
    assert.throws(() => parseSize('1.0001K'), /whole number of bytes/);
  });

  test('a size beyond the safe integer range is rejected', () => {
    assert.throws(() => parseSize('9999999T'), /whole number of bytes/);
    assert.throws(() => parseSize('99999999999999999999'), Error);
  });

  test('the error message quotes the input', () => {
    assert.throws(() => parseSize('lots'), (error: unknown) => error instanceof Error && error.message.includes('"lots"'));
  });
});

describe('formatSize', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * K, '10.0 KiB'],
    [1.5 * M, '1.50 MiB'],
    [G, '1.00 GiB'],
    [2 * T, '2.00 TiB'],
    [2000 * T, '2000.0 TiB'],
  ];
  for (const [bytes, text] of cases) {
    test(`${bytes} is ${text}`, () => assert.equal(formatSize(bytes), text));
  }

  test('formatSize and parseSize agree on round values', () => {
    for (const text of ['1.00 KiB', '1.50 MiB', '3.00 GiB']) {
      assert.equal(formatSize(parseSize(text)), text);
    }
  });
});
