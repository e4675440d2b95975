import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable } from '../../../src/cli/printable.js';

test('control and bidi characters become the octal escapes of their UTF-8 bytes', () => {
  assert.equal(printable('a\x1b[2Jb\n'), 'a\\#033[2Jb\\#012');
  assert.equal(printable('report\u202etxt.exe'), 'report\\#342\\#200\\#256txt.exe');
});

test('a byte of a name that is not UTF-8 shows as its own octal escape; ordinary text is untouched', () => {
  assert.equal(printable('caf\udce9.txt'), 'caf\\#351.txt');
  assert.equal(printable('\udc80\udcff'), '\\#200\\#377');
  assert.equal(printable('café 日本 😀 \ud83c\udc80'), 'café 日本 😀 \ud83c\udc80');
});
