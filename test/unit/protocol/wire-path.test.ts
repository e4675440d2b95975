import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ParecoError } from '../../../protocol/errors.js';
import { checkWirePath, MAX_PATH_LENGTH } from '../../../protocol/wire-path.js';

function assertBadPath(path: string): void {
  assert.throws(
    () => checkWirePath(path),
    (error: unknown) => {
      assert.ok(error instanceof ParecoError, `expected a ParecoError for ${JSON.stringify(path.slice(0, 40))}`);
      assert.equal(error.code, ErrorCode.BAD_PATH);
      return true;
    },
    `should reject ${JSON.stringify(path.slice(0, 40))}`,
  );
}

describe('checkWirePath', () => {
  test('accepts the root and safe relative paths, returning them unchanged', () => {
    const good = [
      '',
      'a',
      'a/b',
      'a/b c/ü 日本.txt',
      'it\'s "quoted"',
      'back\\slash\\name',
      '[brackets]/{braces}/(parens)',
      '*?glob[!x]',
      '...',
      '..a',
      'a..',
      '.hidden/.x',
      'a/.../b',
      ' leading and trailing ',
      'tab\there',
      'new\nline',
      '😀/emoji',
      '-dash',
      '~tilde',
      'C:\\windows-looking',
    ];
    for (const path of good) assert.equal(checkWirePath(path), path);
  });

  test('rejects absolute paths', () => {
    for (const path of ['/abs', '/', '//x', '/a/b']) assertBadPath(path);
  });

  test("rejects '.' and '..' segments anywhere", () => {
    for (const path of ['..', '.', 'a/../b', '../a', 'a/..', 'a/./b', './a', 'a/.', 'a/b/../../..']) assertBadPath(path);
  });

  test('rejects empty segments (double and trailing slashes)', () => {
    for (const path of ['a//b', 'a/', 'a/b/', 'a///b']) assertBadPath(path);
  });

  test('rejects NUL anywhere', () => {
    for (const path of ['\0', 'a\0', 'a/\0b', 'a\0/b']) assertBadPath(path);
  });

  test(`accepts exactly ${MAX_PATH_LENGTH} characters and rejects more`, () => {
    const segment = 'x'.repeat(200);
    let path = Array.from({ length: 21 }, () => segment).join('/'); // 21*200 + 20 = 4220
    path = path.slice(0, MAX_PATH_LENGTH);
    assert.ok(!path.endsWith('/'));
    assert.equal(path.length, MAX_PATH_LENGTH);
    assert.equal(checkWirePath(path), path);
    assertBadPath(`${path}y`);
    assertBadPath('a/'.repeat(3000) + 'a');
  });

  test('a segment may be 255 bytes but not 256', () => {
    assert.equal(checkWirePath('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(checkWirePath(`a/${'x'.repeat(255)}/b`), `a/${'x'.repeat(255)}/b`);
    assertBadPath('x'.repeat(256));
    assertBadPath(`a/${'x'.repeat(256)}`);
  });

  test('segment length counts bytes: multi-byte characters count more than once', () => {
    // 'ü' is 2 bytes in UTF-8, '日' is 3, '😀' is 4 (and two UTF-16 code units).
    assert.ok(checkWirePath('ü'.repeat(127))); // 254 bytes
    assertBadPath('ü'.repeat(128)); // 256 bytes, only 128 characters
    assert.ok(checkWirePath('日'.repeat(85))); // 255 bytes
    assertBadPath('日'.repeat(86)); // 258 bytes, 86 characters
    assert.ok(checkWirePath('😀'.repeat(63))); // 252 bytes
    assertBadPath('😀'.repeat(64)); // 256 bytes
    assertBadPath(`ok/${'日'.repeat(100)}/ok`);
  });

  test('the error message names the path (truncated) and the problem', () => {
    try {
      checkWirePath('a/../b');
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof ParecoError);
      assert.match(error.message, /a\/\.\.\/b/);
      assert.match(error.message, /'\.\.'/);
    }
    try {
      checkWirePath(`${'z'.repeat(5000)}`);
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof ParecoError);
      assert.ok(error.message.length < 400, 'long paths are cut in the message');
    }
  });
});
