import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { colorEnabled, palette } from '../../../src/cli/color.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colorEnabled', () => {
  const cases: [string, { isTTY?: boolean }, NodeJS.ProcessEnv, boolean][] = [
    ['a terminal', tty, {}, true],
    ['a pipe', pipe, {}, false],
    ['a stream that does not say', {}, {}, false],
    ['TERM=dumb', tty, { TERM: 'dumb' }, false],
    ['NO_COLOR=1', tty, { NO_COLOR: '1' }, false],
    ['NO_COLOR=0 (any value counts)', tty, { NO_COLOR: '0' }, false],
    ['NO_COLOR empty (counts as unset)', tty, { NO_COLOR: '' }, true],
    ['FORCE_COLOR=1 into a pipe', pipe, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR=3 into a pipe', pipe, { FORCE_COLOR: '3' }, true],
    ['FORCE_COLOR=true with TERM=dumb', pipe, { FORCE_COLOR: 'true', TERM: 'dumb' }, true],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=false on a terminal', tty, { FORCE_COLOR: 'false' }, false],
    ['FORCE_COLOR empty (counts as unset)', pipe, { FORCE_COLOR: '' }, false],
    ['FORCE_COLOR beats NO_COLOR', pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
  ];
  for (const [name, stream, env, expected] of cases) {
    test(name, () => assert.equal(colorEnabled(stream, env), expected));
  }
});

describe('palette', () => {
  test('ANSI colours when on, the text untouched when off', () => {
    assert.equal(palette(true).red('error:'), '\x1b[31merror:\x1b[39m');
    assert.equal(palette(true).yellow('warning:'), '\x1b[33mwarning:\x1b[39m');
    assert.equal(palette(true).dim('uptodate'), '\x1b[2muptodate\x1b[22m');
    for (const paint of Object.values(palette(false))) assert.equal(paint('text'), 'text');
  });
});
