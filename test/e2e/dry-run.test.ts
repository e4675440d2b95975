import assert from 'node:assert/strict';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const MiB = 1024 * 1024;

let server: ServerProcess;
before(async () => {
  server = await startServerProcess(['-a', 'tok']);
});

function run(mode: 'upload' | 'download', source: string, dest: string, args: string[]): Promise<CliResult> {
  const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
  return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '-a', 'tok', ...args]);
}

const missing = (path: string) => access(path).then(() => false, () => true);

for (const mode of ['upload', 'download'] as const) {
  describe(`--dry-run (${mode})`, () => {
    let work: string;
    before(async () => {
      work = await tempDir(`pareco-dry-${mode}-`);
    });

    test('into a destination that does not exist: lists everything as new, creates nothing', async () => {
      const source = join(work, 'fresh-src');
      const dest = join(work, 'fresh-dst');
      await makeTree(source, { 'a.txt': 'hello', 'sub/b.bin': seededBytes(3 * MiB, 'b'), 'sub/empty/': {} as never });
      const result = await run(mode, source, dest, ['-N', '--json']);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(await missing(dest), 'the destination directory was not created');
      const files = result.events.filter((e) => e.type === 'file').map((e) => [e.path, e.action]).sort();
      assert.deepEqual(files, [['a.txt', 'new'], ['sub/b.bin', 'new']]);
      assert.deepEqual(result.events.filter((e) => e.type === 'mkdir').map((e) => e.path).sort(), ['sub', 'sub/empty']);
      assert.equal(result.summary?.dryRun, true);
      assert.equal(result.summary?.bytesTransferred, 3 * MiB + 5);
    });

    test('against an existing destination: exactly what a real run would do, nothing changed', async () => {
      const source = join(work, 'src');
      const dest = join(work, 'dst');
      const big = seededBytes(4 * MiB, 'big');
      await makeTree(source, { 'same.txt': 'same', 'big.bin': big, 'new.txt': 'new', 'link': { link: 'same.txt' } });
      const changed = Buffer.from(big);
      changed.fill(7, MiB + 100, MiB + 100 + 10); // one 8 KiB block differs
      await makeTree(dest, { 'same.txt': 'same', 'big.bin': changed, 'old.txt': 'to delete', 'olddir/x': 'x' });
      const same = join(dest, 'same.txt');
      await writeFile(same, 'same'); // same data, other mtime: a metadata fix
      const before = await snapshotTree(dest);

      const dry = await run(mode, source, dest, ['--dry-run', '--delete', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(await snapshotTree(dest), before, 'nothing changed at the destination');
      const byPath = new Map(dry.events.filter((e) => e.type === 'file').map((e) => [e.path, e]));
      assert.equal(byPath.get('new.txt')?.action, 'new');
      assert.equal(byPath.get('big.bin')?.action, 'update');
      assert.equal(byPath.get('big.bin')?.bytesSent, 8192, 'the dry run counts only the differing block');
      assert.equal(byPath.get('same.txt')?.action, 'metadata');
      assert.deepEqual(dry.events.filter((e) => e.type === 'delete').map((e) => e.path).sort(), ['old.txt', 'olddir', 'olddir/x']);
      assert.deepEqual(dry.events.filter((e) => e.type === 'symlink').map((e) => e.path), ['link']);

      // The real run then does what the dry run said.
      const real = await run(mode, source, dest, ['--delete', '--json']);
      assert.equal(real.code, 0, real.stderr);
      assert.equal(real.summary?.bytesTransferred, dry.summary?.bytesTransferred);
      assert.equal(real.summary?.filesTransferred, dry.summary?.filesTransferred);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
    });
  });
}

test('--dry-run upload to a --read-only server is allowed (it writes nothing)', async () => {
  const readOnly = await startServerProcess(['--read-only']);
  try {
    const work = await tempDir();
    await makeTree(join(work, 'src'), { 'f.txt': 'x' });
    await mkdir(join(work, 'dst'));
    const result = await runPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', join(work, 'dst'), '-s', readOnly.url, '-N']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /new +f\.txt/);
    assert.ok(await missing(join(work, 'dst', 'f.txt')));
    const real = await runPareco(['-m', 'upload', '-l', join(work, 'src'), '-r', join(work, 'dst'), '-s', readOnly.url]);
    assert.equal(real.code, 1);
    assert.match(real.stderr, /read-only/);
  } finally {
    await readOnly.stop();
  }
});

test('--itemize prints one rsync-style line per change, the same in a dry run and a real one', async () => {
  const work = await tempDir();
  const source = join(work, 'src');
  const dest = join(work, 'dst');
  await makeTree(source, {
    'new.txt': 'new',
    'grown.txt': { data: 'longer now', mtime: 1_700_000_000_000 },
    'perm.txt': { data: 'same', mode: 0o600, mtime: 1_600_000_000_000 },
    'newdir/': {} as never,
    'ln': { link: 'new.txt' },
    'same.txt': { data: 'same', mtime: 1_600_000_000_000 },
  });
  await makeTree(dest, {
    'grown.txt': { data: 'short', mtime: 1_600_000_000_000 },
    'perm.txt': { data: 'same', mode: 0o644, mtime: 1_600_000_000_000 },
    'same.txt': { data: 'same', mtime: 1_600_000_000_000 },
    'gone.txt': 'x',
  });
  const args = ['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '-a', 'tok', '--delete', '--itemize', '--log-level', 'files'];
  const expected = [
    '*deleting   gone.txt',
    '.f...p..... perm.txt',
    '<fcst...... grown.txt',
    '<f+++++++++ new.txt',
    'cL+++++++++ ln -> new.txt',
    'cd+++++++++ newdir/',
  ].sort();
  const itemLines = (stdout: string) => stdout.split('\n').filter((l) => /^[<>.c*][fdL+e]/.test(l)).sort();
  const dry = await runPareco([...args, '-N']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(itemLines(dry.stdout), expected);
  assert.match(dry.stdout, /\(dry run: nothing was changed\)/);
  const real = await runPareco(args);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(itemLines(real.stdout), expected);
  assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
});
