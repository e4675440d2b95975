import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Minimatch } from 'minimatch';
import { CrossingGlob } from '../../../src/fs/crossing-glob.js';
import { loadGlobCompiler, type Glob } from '../../../src/fs/glob.js';

const OPTIONS = { dot: true, nonegate: true, nocomment: true };

/** A tree with the original's example names and some deeper ones (up to 8 levels). */
const TREE = [
  'file1.txt',
  'fileA',
  'fileB',
  '.hidden.txt',
  'A-dir',
  'A-dir/file2.txt',
  'A-dir/file3.zip',
  'B-dir',
  'B-dir/file4.txt',
  'logs',
  'logs/app.gz',
  'logs/2024',
  'logs/2024/app.gz',
  'logs/2024/notes.txt',
  'logs/2024/01/02/03/04/deep.gz',
  'x',
  'x/y',
  'x/y/z',
  'x/y/z/file.txt',
  'x/y/z/.dot/file.txt',
  'sub',
  'sub/myfile_zA',
  'sub/a/b/c/d/e/f/fileXA',
  'build',
  'build/out.o',
  'build/.cache/x.o',
  'a',
  'a/b',
  'a/x/b',
  'a/x/y/z/w/b',
  'ab',
  'axb',
];

let compile: (pattern: string) => Glob;
before(async () => {
  compile = await loadGlobCompiler();
});

/** The paths of `paths` (TREE by default) that the pattern matches. */
function matching(pattern: string, paths = TREE): string[] {
  const glob = compile(pattern);
  return paths.filter((path) => glob.match(path));
}

describe('glob: an in-name ** matches any characters, / included', () => {
  test("'**.txt': .txt files at any depth (the original's README)", () => {
    assert.deepEqual(matching('**.txt'), ['file1.txt', '.hidden.txt', 'A-dir/file2.txt', 'B-dir/file4.txt', 'logs/2024/notes.txt', 'x/y/z/file.txt', 'x/y/z/.dot/file.txt']);
  });

  test("'**file*A': the original's DirectoryStructureReaderTest pattern", () => {
    assert.deepEqual(matching('**file*A'), ['fileA', 'sub/myfile_zA', 'sub/a/b/c/d/e/f/fileXA']);
  });

  test("'logs/**.gz': below logs only, at any depth", () => {
    assert.deepEqual(matching('logs/**.gz'), ['logs/app.gz', 'logs/2024/app.gz', 'logs/2024/01/02/03/04/deep.gz']);
    assert.equal(compile('logs/**.gz').match('other/logs/app.gz'), false);
  });

  test("'a**b': across any number of names, or none", () => {
    assert.deepEqual(matching('a**b'), ['a/b', 'a/x/b', 'a/x/y/z/w/b', 'ab', 'axb']);
    assert.equal(compile('a**b').match('a/b/c'), false, 'the end is anchored');
    assert.equal(compile('a**b').match('xa/b'), false, 'the start is anchored');
  });

  test('a name before a segment, and several in-name ** in one pattern', () => {
    assert.deepEqual(matching('x**/file.txt'), ['x/y/z/file.txt', 'x/y/z/.dot/file.txt']);
    assert.equal(compile('x**/y').match('xy'), false, "the '/' must be there");
    assert.equal(compile('x**/y').match('x/y'), true);
    assert.deepEqual(matching('s**b**f**A'), ['sub/myfile_zA', 'sub/a/b/c/d/e/f/fileXA']);
    assert.deepEqual(matching('**2024**'), ['logs/2024', 'logs/2024/app.gz', 'logs/2024/notes.txt', 'logs/2024/01/02/03/04/deep.gz']);
  });

  test("three or more stars count as '**', even as a whole segment", () => {
    assert.deepEqual(matching('x/***'), ['x/y', 'x/y/z', 'x/y/z/file.txt', 'x/y/z/.dot/file.txt']);
    assert.deepEqual(matching('a/***/b'), ['a/x/b', 'a/x/y/z/w/b'], "unlike 'a/**/b', it needs a name in between");
  });

  test('an in-name ** inside braces', () => {
    assert.deepEqual(matching('{**.zip,**.o}'), ['A-dir/file3.zip', 'build/out.o', 'build/.cache/x.o']);
    assert.deepEqual(matching('**.{zip,o}'), ['A-dir/file3.zip', 'build/out.o', 'build/.cache/x.o']);
    assert.deepEqual(matching('{x,a}**/{b,file.txt}'), ['x/y/z/file.txt', 'x/y/z/.dot/file.txt', 'a/b', 'a/x/b', 'a/x/y/z/w/b']);
  });

  test('in-name and whole-segment ** together, at 5+ levels', () => {
    assert.deepEqual(matching('sub/**/d/**XA'), ['sub/a/b/c/d/e/f/fileXA']);
    assert.deepEqual(matching('**/0?/**.gz'), ['logs/2024/01/02/03/04/deep.gz']);
    assert.deepEqual(matching('logs/**/04/**'), ['logs/2024/01/02/03/04/deep.gz']);
    assert.equal(compile('**/e/f/*XA').match('sub/a/b/c/d/e/f/fileXA'), true);
    assert.equal(compile('a/b/c/d/e/f/g/h/**i').match('a/b/c/d/e/f/g/h/i'), true);
    assert.equal(compile('a/b/c/d/e/f/g/h/**i').match('a/b/c/d/e/f/g/h/j/k/xi'), true);
    assert.equal(compile('a/b/c/d/e/f/g/h/**i').match('a/b/c/d/e/f/g/x/i'), false);
  });
});

describe('glob: everything else keeps minimatch meaning', () => {
  test("'*.txt' top level only, '*/*.txt' one level down (the original's README)", () => {
    assert.deepEqual(matching('*.txt'), ['file1.txt', '.hidden.txt']);
    assert.deepEqual(matching('*/*.txt'), ['A-dir/file2.txt', 'B-dir/file4.txt']);
  });

  test("a whole-segment '**' is zero or more directories, and at the end at least one name", () => {
    assert.deepEqual(matching('**/*.txt'), matching('**.txt'));
    assert.deepEqual(matching('**/file.txt'), ['x/y/z/file.txt', 'x/y/z/.dot/file.txt']);
    assert.deepEqual(matching('a/**/b'), ['a/b', 'a/x/b', 'a/x/y/z/w/b']);
    assert.deepEqual(matching('build/**'), ['build/out.o', 'build/.cache/x.o']);
    assert.deepEqual(matching('**'), TREE);
  });

  test('? is one character, never /', () => {
    assert.deepEqual(matching('a?b'), ['axb']);
    assert.deepEqual(matching('file?'), ['fileA', 'fileB']);
  });

  test('classes, braces, escapes and extglobs', () => {
    assert.deepEqual(matching('file[AB]'), ['fileA', 'fileB']);
    assert.deepEqual(matching('file[!A]'), ['fileB']);
    assert.deepEqual(matching('[A-B]-dir/*.txt'), ['A-dir/file2.txt', 'B-dir/file4.txt']);
    assert.deepEqual(matching('{A,B}-dir'), ['A-dir', 'B-dir']);
    assert.deepEqual(matching('a\\*b', ['a*b', 'axb']), ['a*b']);
    assert.deepEqual(matching('a\\*\\*b', ['a**b', 'a/b', 'axb']), ['a**b'], 'escaped stars are literal');
    assert.deepEqual(matching('[*][*]', ['**', 'ab']), ['**'], 'stars in classes are literal');
    assert.deepEqual(matching('+(a|b)', ['a', 'ab', 'abba', 'abc']), ['a', 'ab', 'abba']);
    // A '**' inside an extglob group is minimatch's, within one name.
    assert.deepEqual(matching('+(a**b)', ['ab', 'axxb', 'a/b']), ['ab', 'axxb']);
  });

  test('dotfiles and dot directories match like any other name', () => {
    assert.deepEqual(matching('.*'), ['.hidden.txt']);
    assert.deepEqual(matching('build/**.o'), ['build/out.o', 'build/.cache/x.o']);
    assert.deepEqual(matching('build/*/*'), ['build/.cache/x.o']);
  });

  test('a pattern without an in-name ** is exactly minimatch', () => {
    for (const pattern of ['*.txt', '**/*.txt', 'a/**/b', 'build/**', '{a,b}*', '[!x]*/?', '+(a|b)', '#x', '!x', '**']) {
      const mm = new Minimatch(pattern, OPTIONS);
      for (const path of TREE) assert.equal(compile(pattern).match(path), mm.match(path), `${pattern} ${path}`);
    }
  });

  test('minimatch still rejects what it rejected', () => {
    assert.throws(() => compile('x'.repeat(65 * 1024)), /too long/);
    assert.throws(() => compile('**' + 'x'.repeat(65 * 1024)), /too long/);
  });
});

describe('glob: names that are not valid UTF-8 (each bad byte a lone surrogate, U+DC80–U+DCFF)', () => {
  test('a lone surrogate is one ordinary character: ?, * and classes match it, it is never /', () => {
    const bad = '\uDC80';
    assert.equal(compile('?').match(bad), true);
    assert.equal(compile('a?b').match(`a${bad}b`), true);
    assert.equal(compile('??').match(`${bad}\uDCFF`), true);
    assert.equal(compile('?').match(`${bad}\uDCFF`), false);
    assert.equal(compile('*').match(`x${bad}y`), true);
    assert.equal(compile('[!a]').match(bad), true);
    assert.equal(compile('a?b').match('a/b'), false);
    assert.equal(compile(`*${bad}*`).match(`x${bad}y`), true);
    assert.equal(compile(`*${bad}*`).match('x\uDC81y'), false);
  });

  test('** crosses names holding lone surrogates, and ill-formed UTF-16 never throws', () => {
    const path = 'd\uDCFF/\uDC80\uDC80/e\uD800/f.txt';
    assert.equal(compile('**.txt').match(path), true);
    assert.equal(compile('d?/**/*.txt').match(path), true);
    assert.equal(compile('d*/??/e?/*').match(path), true);
    assert.equal(compile('**\uDC80/**').match(path), true);
    for (const pattern of ['**', '**x', '*', '?', 'a**b', '**/*', '[\uDC80]**']) {
      for (const odd of ['\uD800', '\uDFFF\uD800', 'a\uD83D', '\uDE00b', 'x/\uD800/y']) {
        assert.doesNotThrow(() => compile(pattern).match(odd), `${pattern} ${odd}`);
      }
    }
  });
});

/**
 * A reference for the patterns of the properties below: a backtracking RegExp, fine for the
 * short paths tested here. A whole-segment '**' is zero or more directories ('**' at the end: one
 * or more names), any other run of stars '*' or longer is anything, '/' included.
 */
function referenceRegExp(pattern: string): RegExp {
  const segments = pattern.split('/');
  const body = segments.map((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') return last ? '[^/]+(?:/[^/]+)*' : '(?:[^/]+/)*';
    const name = segment.replace(/\*{2,}|\*|\?|\[!?[^\]]*\]|[^*?[]/gu, (token) => {
      if (token.startsWith('**')) return '[\\s\\S]*';
      if (token === '*') return '[^/]*';
      if (token === '?') return '[^/]';
      if (token.startsWith('[!')) return `[^/${token.slice(2, -1)}]`;
      if (token.startsWith('[')) return token;
      return token.replace(/[.\\]/g, '\\$&');
    });
    return last ? name : `${name}/`;
  });
  return new RegExp(`^${body.join('')}$`, 'u');
}

const name = fc
  .array(fc.constantFrom('a', 'b', '.', '\uDC80'), { minLength: 1, maxLength: 3 })
  .map((chars) => chars.join(''))
  .filter((n) => n !== '.' && n !== '..');
const path = fc.array(name, { minLength: 1, maxLength: 6 }).map((names) => names.join('/'));
const token = fc.constantFrom('a', 'b', '.', '\uDC80', '*', '?', '[ab]', '[!a]');
const starRun = fc.constantFrom('**', '***');
const segmentOf = (tokens: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 1, arbitrary: fc.constant('**') }, { weight: 4, arbitrary: fc.array(tokens, { minLength: 1, maxLength: 4 }).map((t) => t.join('')) });
/** Segments '.' and '..' left out: minimatch resolves them ('a/..' is nothing), paths never hold them. */
const patternOf = (tokens: fc.Arbitrary<string>) =>
  fc
    .array(segmentOf(tokens), { minLength: 1, maxLength: 4 })
    .filter((segments) => !segments.includes('.') && !segments.includes('..'))
    .map((segments) => segments.join('/'));
/** Patterns whose only '**' are whole segments (single stars never make a run here: '?' between). */
const plainPattern = patternOf(token).filter((p) => p.split('/').every((s) => s === '**' || !s.includes('**')));
const anyPattern = patternOf(fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: starRun }));

describe('glob: properties', () => {
  test('without an in-name **, the reference and the name-by-name matcher agree with minimatch', () => {
    const compileName = (unit: string) => new Minimatch(unit, { ...OPTIONS, nobrace: true });
    fc.assert(
      fc.property(plainPattern, fc.array(path, { minLength: 1, maxLength: 10 }), (pattern, paths) => {
        const mm = new Minimatch(pattern, OPTIONS);
        const crossing = new CrossingGlob(pattern, compileName);
        const reference = referenceRegExp(pattern);
        for (const p of paths) {
          assert.equal(reference.test(p), mm.match(p), `reference: ${pattern} ${p}`);
          assert.equal(crossing.match(p), mm.match(p), `CrossingGlob: ${pattern} ${p}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('with in-name ** anywhere, the compiled glob agrees with the reference', () => {
    fc.assert(
      fc.property(anyPattern, fc.array(path, { minLength: 1, maxLength: 10 }), (pattern, paths) => {
        const glob = compile(pattern);
        const reference = referenceRegExp(pattern);
        for (const p of paths) assert.equal(glob.match(p), reference.test(p), `${pattern} ${p}`);
      }),
      { numRuns: 5000 },
    );
  });

  test('a hostile pattern costs little: no backtracking', () => {
    const pattern = 'a**'.repeat(300) + 'b';
    const glob = compile(pattern);
    const hostile = Array.from({ length: 20 }, () => 'a'.repeat(40)).join('/');
    const started = performance.now();
    assert.equal(glob.match(hostile), false);
    assert.equal(glob.match(`${hostile}/b`), true);
    assert.equal(glob.match(`${hostile.slice(0, 200)}/b`), false, '300 a are needed');
    assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
  });
});
