import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { makeTree, type TreeSpec } from '../support/make-tree.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/**
 * --include/--exclude through the real CLI and server, both ways: which files arrive, and which
 * directories (those leading to them). The tree holds the original Pareco's example names
 * (README: my-dir with A-dir and B-dir; DirectoryStructureReaderTest: fileA, file1A, ...) and
 * deeper ones.
 */
const TREE: TreeSpec = {
  'file1.txt': '1',
  'fileA': 'a',
  'fileB': 'b',
  'fileXA': 'xa',
  'A-dir/file2.txt': '2',
  'A-dir/file3.zip': '3',
  'A-dir/sub/deeper/file5.txt': '5',
  'B-dir/file4.txt': '4',
  'x/y/z/file.txt': 'z',
  'x/y/z/w/v/u/deep.txt': 'u',
  'logs/app.gz': 'g',
  'logs/2024/app.gz': 'g',
  'logs/2024/01/02/old.gz': 'g',
  'logs/2024/readme.md': 'm',
  'sub/myfile_zA': 's',
  'sub/other.md': 'o',
  'sub/a/b/c/d/e/fileEA': 'e',
  'empty-dir/': { dir: true },
};

/** The directories above each path, and the paths: what a sync of exactly those files creates. */
function withParents(...paths: string[]): string[] {
  const all = new Set<string>();
  for (const path of paths) {
    const names = path.split('/');
    for (let i = 1; i <= names.length; i++) all.add(names.slice(0, i).join('/'));
  }
  return [...all].sort();
}

let server: ServerProcess;
before(async () => {
  server = await startServerProcess(['-a', 'filter-token']);
});

function ok(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  assert.ok(result.summary, 'a summary line');
  assert.equal(result.summary.ok, true);
  return result.summary;
}

for (const mode of ['upload', 'download'] as const) {
  describe(`filters, ${mode}`, () => {
    let work: string;
    before(async () => {
      work = await tempDir(`pareco-filters-${mode}-`);
    });
    let n = 0;

    /** Syncs `source` into `dest` in this describe's direction. */
    function sync(source: string, dest: string, args: string[]): Promise<CliResult> {
      const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
      return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '-a', 'filter-token', '--json', ...args]);
    }

    /** Syncs TREE into an empty directory with the filter options; the paths that arrived, sorted. */
    async function arrived(...args: string[]): Promise<string[]> {
      n++;
      const source = join(work, `src${n}`);
      const dest = join(work, `dst${n}`);
      await makeTree(source, TREE);
      ok(await sync(source, dest, args));
      return Object.keys(await snapshotTree(dest)).sort();
    }

    test("the original's README examples: '*.txt', '*/*.txt', '**.txt', 'A*'", async () => {
      assert.deepEqual(await arrived('-i', '*.txt'), ['file1.txt']);
      assert.deepEqual(await arrived('-i', '*/*.txt'), withParents('A-dir/file2.txt', 'B-dir/file4.txt'));
      assert.deepEqual(
        await arrived('-i', '**.txt'),
        withParents('file1.txt', 'A-dir/file2.txt', 'A-dir/sub/deeper/file5.txt', 'B-dir/file4.txt', 'x/y/z/file.txt', 'x/y/z/w/v/u/deep.txt'),
      );
      assert.deepEqual(await arrived('-i', 'A*'), withParents('A-dir/file2.txt', 'A-dir/file3.zip', 'A-dir/sub/deeper/file5.txt'));
    });

    test("include '**file*A' (the original's reader test): matching files at any depth, and their directories", async () => {
      assert.deepEqual(await arrived('-i', '**file*A'), withParents('fileA', 'fileXA', 'sub/myfile_zA', 'sub/a/b/c/d/e/fileEA'));
    });

    test("include 'logs/**.gz', exclude a whole-segment 'logs/**/01'", async () => {
      assert.deepEqual(await arrived('-i', 'logs/**.gz', '-e', 'logs/**/01'), withParents('logs/app.gz', 'logs/2024/app.gz'));
    });

    test("exclude '**.txt' and '**.md': everything else, directories left empty too", async () => {
      const expected = withParents(
        'fileA',
        'fileB',
        'fileXA',
        'A-dir/file3.zip',
        'A-dir/sub/deeper',
        'B-dir',
        'x/y/z/w/v/u',
        'logs/app.gz',
        'logs/2024/app.gz',
        'logs/2024/01/02/old.gz',
        'sub/myfile_zA',
        'sub/a/b/c/d/e/fileEA',
        'empty-dir',
      );
      assert.deepEqual(await arrived('-e', '**.txt', '-e', '**.md'), expected);
    });

    test("whole-segment '**' keeps its meaning: '**/*.md' at any depth, 'x/**' below x", async () => {
      assert.deepEqual(
        await arrived('-i', '**/*.md', '-i', 'x/**'),
        withParents('logs/2024/readme.md', 'sub/other.md', 'x/y/z/file.txt', 'x/y/z/w/v/u/deep.txt'),
      );
    });

    test('--delete-unexpected never deletes what an in-name ** leaves out', async () => {
      n++;
      const source = join(work, `src${n}`);
      const dest = join(work, `dst${n}`);
      await makeTree(source, { 'a.txt': 'a', 'x/y/b.txt': 'b' });
      await makeTree(dest, {
        'gone.txt': 'g',
        'x/y/gone.txt': 'g',
        'x/y/z/keep-me.txt': 'k',
        'notes.md': 'n',
        'x/y/z/notes.md': 'n',
      });
      const summary = ok(await sync(source, dest, ['-i', '**.txt', '-e', '**keep*', '--delete-unexpected']));
      assert.equal(summary.filesDeleted, 2);
      assert.deepEqual(Object.keys(await snapshotTree(dest)).sort(), [
        'a.txt',
        'notes.md',
        'x',
        'x/y',
        'x/y/b.txt',
        'x/y/z',
        'x/y/z/keep-me.txt',
        'x/y/z/notes.md',
      ]);
    });
  });
}
