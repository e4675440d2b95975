import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { PathFilter } from '../../../src/fs/filter.js';
import { scanTree } from '../../../src/fs/scan.js';
import { makeTree } from '../../support/make-tree.js';
import { tempDir } from '../../support/temp-dir.js';

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

describe("PathFilter: the original's README examples (mediatoolkit/pareco README.md)", () => {
  // my-dir/ file1.txt, A-dir/{file2.txt,file3.zip}, B-dir/file4.txt
  const MY_DIR = ['file1.txt', 'A-dir', 'A-dir/file2.txt', 'A-dir/file3.zip', 'B-dir', 'B-dir/file4.txt'];
  const cases: [string, string[]][] = [
    ['*.txt', ['file1.txt']],
    ['*/*.txt', ['A-dir/file2.txt', 'B-dir/file4.txt']],
    ['**.txt', ['file1.txt', 'A-dir/file2.txt', 'B-dir/file4.txt']],
    ['A*', ['A-dir', 'A-dir/file2.txt', 'A-dir/file3.zip']],
  ];
  for (const [pattern, expected] of cases) {
    test(`include '${pattern}' selects ${expected.join(', ')}`, async () => {
      assert.deepEqual(selected(await PathFilter.create([pattern]), MY_DIR), expected);
    });
    test(`exclude '${pattern}' selects the rest`, async () => {
      assert.deepEqual(
        selected(await PathFilter.create([], [pattern]), MY_DIR),
        MY_DIR.filter((path) => !expected.includes(path)),
      );
    });
  }

  test("an in-name '**' in an exclude beats an include, and a whole-segment one keeps its meaning", async () => {
    const filter = await PathFilter.create(['A*', '**/*.txt'], ['**3.zip']);
    assert.deepEqual(selected(filter, MY_DIR), ['file1.txt', 'A-dir', 'A-dir/file2.txt', 'B-dir/file4.txt']);
    assert.equal(filter.excluded('A-dir/deeper/still/file3.zip'), true);
  });
});

/** What a scan with the filter lists, split into directories and files, each sorted. */
async function scanned(root: string, filter: PathFilter): Promise<{ dirs: string[]; files: string[] }> {
  const dirs: string[] = [];
  const files: string[] = [];
  for await (const batch of scanTree(root, filter)) {
    for (const entry of batch) (entry.kind === 'd' ? dirs : files).push(entry.path);
  }
  return { dirs: dirs.sort(), files: files.sort() };
}

/**
 * The cases of the original's DirectoryStructureReaderTest (mediatoolkit/pareco,
 * parecocore/src/test/java/com/mediatoolkit/pareco/components/DirectoryStructureReaderTest.java),
 * through a real scan: which files are listed, and which directories (those leading to them).
 */
describe("PathFilter with scanTree: the original's DirectoryStructureReaderTest", () => {
  let flat: string;
  let nested: string;
  before(async () => {
    const work = await tempDir('pareco-unit-filter-scan-');
    flat = join(work, 'flat');
    nested = join(work, 'nested');
    await makeTree(flat, { 'fileA.txt': '', 'fileB.txt': '', 'fileA.zip': '', 'fileA.tar': '' });
    await makeTree(nested, {
      'dir1/file1A': '',
      'dir1/file1B': '',
      'dir2/file2A': '',
      'dir3/dir3X/file3XA': '',
      'dir3/dir3Y/': { dir: true },
      'fileA': '',
      'fileB': '',
    });
  });

  const scan = async (root: string, include: string[], exclude: string[] = []) => scanned(root, await PathFilter.create(include, exclude));

  test('include files', async () => {
    assert.deepEqual(await scan(flat, ['*.txt']), { dirs: [], files: ['fileA.txt', 'fileB.txt'] });
    assert.deepEqual(await scan(flat, ['fileA.*']), { dirs: [], files: ['fileA.tar', 'fileA.txt', 'fileA.zip'] });
    assert.deepEqual(await scan(flat, ['fileC.*']), { dirs: [], files: [] });
  });

  test('exclude files, and include with exclude', async () => {
    assert.deepEqual(await scan(flat, [], ['*.txt']), { dirs: [], files: ['fileA.tar', 'fileA.zip'] });
    assert.deepEqual(await scan(flat, [], ['fileA.*']), { dirs: [], files: ['fileB.txt'] });
    assert.deepEqual(await scan(flat, [], ['fileC.*']), { dirs: [], files: ['fileA.tar', 'fileA.txt', 'fileA.zip', 'fileB.txt'] });
    assert.deepEqual(await scan(flat, ['*.txt'], ['fileA.*']), { dirs: [], files: ['fileB.txt'] });
  });

  test('include and exclude a directory', async () => {
    assert.deepEqual(await scan(nested, ['dir1']), { dirs: ['dir1'], files: ['dir1/file1A', 'dir1/file1B'] });
    assert.deepEqual(await scan(nested, [], ['dir3']), {
      dirs: ['dir1', 'dir2'],
      files: ['dir1/file1A', 'dir1/file1B', 'dir2/file2A', 'fileA', 'fileB'],
    });
  });

  test("include '**file*A': the files at any depth, and the directories leading to them", async () => {
    assert.deepEqual(await scan(nested, ['**file*A']), {
      dirs: ['dir1', 'dir2', 'dir3', 'dir3/dir3X'],
      files: ['dir1/file1A', 'dir2/file2A', 'dir3/dir3X/file3XA', 'fileA'],
    });
  });

  test("exclude '**file*A': those files at any depth, every directory stays", async () => {
    assert.deepEqual(await scan(nested, [], ['**file*A']), {
      dirs: ['dir1', 'dir2', 'dir3', 'dir3/dir3X', 'dir3/dir3Y'],
      files: ['dir1/file1B', 'fileB'],
    });
  });

  test('a tree seven levels deep', async () => {
    const deep = join(nested, '..', 'deep');
    await makeTree(deep, { 'a/b/c/d/e/f/g.txt': '', 'a/b/c/d/e/f/g.md': '', 'a/x/y.txt': '', 'top.txt': '' });
    assert.deepEqual(await scan(deep, ['a/**.txt']), {
      dirs: ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/b/c/d/e', 'a/b/c/d/e/f', 'a/x'],
      files: ['a/b/c/d/e/f/g.txt', 'a/x/y.txt'],
    });
    assert.deepEqual(await scan(deep, ['**d/e**']), {
      dirs: ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/b/c/d/e', 'a/b/c/d/e/f'],
      files: ['a/b/c/d/e/f/g.md', 'a/b/c/d/e/f/g.txt'],
    });
    assert.deepEqual((await scan(deep, [], ['a/b**.md'])).files, ['a/b/c/d/e/f/g.txt', 'a/x/y.txt', 'top.txt']);
  });
});
