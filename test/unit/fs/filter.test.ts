import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PathFilter } from '../../../src/fs/filter.js';

const PATHS = [
  'a.txt',
  'b.md',
  '.hidden.txt',
  'd',
  'd/a.txt',
  'd/.h.txt',
  'd/e',
  'd/e/a.txt',
  'docs',
  'docs/a',
  'docs/a/b.md',
  'docsx',
  'docsx/a',
  'x',
  'x/docs',
  'x/docs/a',
];

/** The paths of PATHS the filter selects. */
function selected(filter: PathFilter, paths = PATHS): string[] {
  return paths.filter((path) => filter.selected(path));
}

describe('PathFilter', () => {
  test('no include and no exclude selects everything, excludes nothing', async () => {
    const filter = await PathFilter.create();
    assert.deepEqual(selected(filter), PATHS);
    assert.equal(PATHS.some((path) => filter.excluded(path)), false);
    assert.deepEqual(selected(await PathFilter.create([], [])), PATHS);
  });

  test("'*.txt' matches only at the top level (dotfiles included)", async () => {
    assert.deepEqual(selected(await PathFilter.create(['*.txt'])), ['a.txt', '.hidden.txt']);
  });

  test("'*/*.txt' matches exactly one level down", async () => {
    assert.deepEqual(selected(await PathFilter.create(['*/*.txt'])), ['d/a.txt', 'd/.h.txt']);
  });

  test("'**/*.txt' matches at any depth, including the top", async () => {
    assert.deepEqual(selected(await PathFilter.create(['**/*.txt'])), ['a.txt', '.hidden.txt', 'd/a.txt', 'd/.h.txt', 'd/e/a.txt']);
  });

  test('a matching directory selects everything below it, but not look-alike names', async () => {
    const filter = await PathFilter.create(['docs']);
    assert.deepEqual(selected(filter), ['docs', 'docs/a', 'docs/a/b.md']);
    assert.equal(filter.selected('docs/a/b/c/d/e.md'), true);
    assert.equal(filter.selected('docsx/a'), false);
    assert.equal(filter.selected('x/docs/a'), false);
  });

  test('a nested directory pattern selects its subtree only', async () => {
    const filter = await PathFilter.create(['d/e']);
    assert.deepEqual(selected(filter), ['d/e', 'd/e/a.txt']);
  });

  test("'*' matches dotfiles and, as a top-level directory match, everything", async () => {
    assert.deepEqual(selected(await PathFilter.create(['*'])), PATHS);
    assert.equal((await PathFilter.create(['*'])).selected('.git/config'), true);
    assert.equal((await PathFilter.create([], ['*'])).selected('.git'), false);
    assert.equal((await PathFilter.create(['.*'])).selected('.hidden.txt'), true);
    assert.equal((await PathFilter.create(['.*'])).selected('a.txt'), false);
  });

  test('exclude beats include', async () => {
    const filter = await PathFilter.create(['**/*.txt'], ['d']);
    assert.deepEqual(selected(filter), ['a.txt', '.hidden.txt']);
    const same = await PathFilter.create(['docs'], ['docs']);
    assert.deepEqual(selected(same), []);
    const inner = await PathFilter.create(['docs'], ['**/*.md']);
    assert.deepEqual(selected(inner), ['docs', 'docs/a']);
  });

  test('exclude alone removes matches and everything below them', async () => {
    const filter = await PathFilter.create([], ['docs']);
    assert.deepEqual(
      selected(filter),
      PATHS.filter((path) => path !== 'docs' && !path.startsWith('docs/')),
    );
  });

  test('excluded() is true for an excluded directory and all its descendants', async () => {
    const filter = await PathFilter.create([], ['d/e', '*.md']);
    assert.equal(filter.excluded('d/e'), true);
    assert.equal(filter.excluded('d/e/a.txt'), true);
    assert.equal(filter.excluded('d/e/f/g/h'), true);
    assert.equal(filter.excluded('d'), false);
    assert.equal(filter.excluded('d/a.txt'), false);
    assert.equal(filter.excluded('d/ee'), false);
    assert.equal(filter.excluded('b.md'), true);
    assert.equal(filter.excluded('docs/a/b.md'), false, "'*.md' is top level only");
  });

  test('excluded() ignores include patterns', async () => {
    const filter = await PathFilter.create(['docs']);
    assert.equal(filter.excluded('a.txt'), false);
    assert.equal(filter.selected('a.txt'), false);
  });

  test("leading '/' and trailing '/' in patterns are normalised", async () => {
    for (const pattern of ['/docs', 'docs/', '/docs/', '//docs//']) {
      const filter = await PathFilter.create([pattern]);
      assert.deepEqual(selected(filter), ['docs', 'docs/a', 'docs/a/b.md'], pattern);
      const ex = await PathFilter.create([], [pattern]);
      assert.equal(ex.excluded('docs/a/b.md'), true, pattern);
      assert.equal(ex.excluded('x/docs'), false, pattern);
    }
    assert.deepEqual(selected(await PathFilter.create(['/*.txt'])), ['a.txt', '.hidden.txt']);
  });

  test('several include patterns are alternatives', async () => {
    assert.deepEqual(selected(await PathFilter.create(['*.md', 'd/e'])), ['b.md', 'd/e', 'd/e/a.txt']);
  });

  test('patterns with braces and character classes', async () => {
    assert.deepEqual(selected(await PathFilter.create(['*.{md,txt}'])), ['a.txt', 'b.md', '.hidden.txt']);
    assert.deepEqual(selected(await PathFilter.create(['[ab].*'])), ['a.txt', 'b.md']);
  });

  test("'#' and '!' are literal characters, not comments or negations", async () => {
    assert.equal((await PathFilter.create(['#notes'])).selected('#notes'), true);
    assert.equal((await PathFilter.create(['!a.txt'])).selected('!a.txt'), true);
    assert.equal((await PathFilter.create(['!a.txt'])).selected('b.md'), false);
  });

  test('keeps the patterns it was given', async () => {
    const filter = await PathFilter.create(['/a/'], ['b']);
    assert.deepEqual(filter.include, ['/a/']);
    assert.deepEqual(filter.exclude, ['b']);
  });
});
