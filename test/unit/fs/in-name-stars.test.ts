import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitAtInNameStars } from '../../../src/fs/in-name-stars.js';

describe('splitAtInNameStars', () => {
  test('a segment without a run of two or more stars stays whole', () => {
    for (const segment of ['a', '*.txt', 'file*A', '*a*b*', '?', '[ab]', '{a,b}', '']) {
      assert.deepEqual(splitAtInNameStars(segment), [segment], segment);
    }
  });

  test('each run of two or more stars splits the segment', () => {
    assert.deepEqual(splitAtInNameStars('**.txt'), ['', '.txt']);
    assert.deepEqual(splitAtInNameStars('**file*A'), ['', 'file*A']);
    assert.deepEqual(splitAtInNameStars('a**b'), ['a', 'b']);
    assert.deepEqual(splitAtInNameStars('a**'), ['a', '']);
    assert.deepEqual(splitAtInNameStars('a***b****c'), ['a', 'b', 'c']);
    assert.deepEqual(splitAtInNameStars('***'), ['', '']);
    assert.deepEqual(splitAtInNameStars('[ab]**?'), ['[ab]', '?']);
  });

  test('escaped stars are not a run', () => {
    assert.deepEqual(splitAtInNameStars('a\\**b'), ['a\\**b']);
    assert.deepEqual(splitAtInNameStars('a\\*\\*b'), ['a\\*\\*b']);
    // An escaped backslash does not escape the star after it.
    assert.deepEqual(splitAtInNameStars('a\\\\**b'), ['a\\\\', 'b']);
  });

  test('stars inside a class are members, not a run', () => {
    assert.deepEqual(splitAtInNameStars('[**]x'), ['[**]x']);
    assert.deepEqual(splitAtInNameStars('[]**]x'), ['[]**]x'], "']' first is a member");
    assert.deepEqual(splitAtInNameStars('[!]**]x'), ['[!]**]x']);
    assert.deepEqual(splitAtInNameStars('[\\]**]x'), ['[\\]**]x']);
    assert.deepEqual(splitAtInNameStars('[[:alpha:]**]x'), ['[[:alpha:]**]x'], 'a POSIX class does not close it');
    assert.deepEqual(splitAtInNameStars('[**'), ['[', ''], "an unclosed '[' is a literal");
  });

  test('stars inside an extglob group stay for minimatch, and a star that opens one is not in a run', () => {
    assert.deepEqual(splitAtInNameStars('+(a**b)'), ['+(a**b)']);
    assert.deepEqual(splitAtInNameStars('@(x|+(a**b))**c'), ['@(x|+(a**b))', 'c']);
    assert.deepEqual(splitAtInNameStars('**(a)'), ['**(a)'], "'*' then the group '*(a)'");
    assert.deepEqual(splitAtInNameStars('***(a)'), ['', '*(a)']);
    assert.deepEqual(splitAtInNameStars('+(**.txt'), ['+(', '.txt'], 'an unclosed group is literal');
  });
});
