import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../../src/cli/parse-duration.js';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['100ms', 100],
    ['0ms', 0],
    ['3s', 3000],
    ['4m', 240_000],
    ['2h', 7_200_000],
    ['5', 5000],
    ['0', 0],
    ['1.5s', 1500],
    ['0.25s', 250],
    ['1.5m', 90_000],
    ['0.5h', 1_800_000],
    ['3S', 3000],
    ['100MS', 100],
    ['2H', 7_200_000],
    [' 3s ', 3000],
    ['3 s', 3000],
    ['10 ms', 10],
    ['1.5ms', 2], // rounded to whole milliseconds
    ['0.4ms', 0],
  ];
  for (const [text, ms] of valid) {
    test(`${JSON.stringify(text)} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }

  test('always returns a whole number of milliseconds', () => {
    for (const text of ['1.2345s', '0.001s', '1.3ms', '0.0001h', '7.77m']) assert.ok(Number.isInteger(parseDuration(text)), text);
  });

  const invalid = ['', ' ', 'abc', 's', 'ms', '-1s', '-5', '+1s', '1d', '1w', '1sec', '1 2s', '1.s', '.5s', '1e3', '1,5s', '3ss', '1mss', 'Infinity', '1h30m'];
  for (const text of invalid) {
    test(`${JSON.stringify(text)} is rejected`, () => {
      assert.throws(() => parseDuration(text), (error: unknown) => error instanceof Error && error.message.includes(JSON.stringify(text)));
    });
  }
});
