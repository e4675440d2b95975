import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, utimes, writeFile, truncate, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { rootMeta, snapshotTree } from '../support/tree-snapshot.js';

const KiB = 1024;
const MiB = 1024 * 1024;

let server: ServerProcess;
before(async () => {
  server = await startServerProcess(['-a', 'secret-token']);
});

/** Syncs `source` into `dest` in the given direction through the real server. */
function syncDir(mode: 'upload' | 'download', source: string, dest: string, args: string[] = []): Promise<CliResult> {
  const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
  return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '-a', 'secret-token', '--json', ...args]);
}

async function assertSynced(source: string, dest: string): Promise<void> {
  assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
}

function ok(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  assert.ok(result.summary, 'a summary line');
  assert.equal(result.summary.ok, true);
  return result.summary;
}

for (const mode of ['upload', 'download'] as const) {
  describe(`${mode}`, () => {
    let work: string;
    before(async () => {
      work = await tempDir(`pareco-${mode}-`);
    });
    let n = 0;
    const pair = () => {
      n++;
      return { source: join(work, `src${n}`), dest: join(work, `dst${n}`) };
    };

    test('empty trees', async () => {
      const { source, dest } = pair();
      await mkdir(source);
      const summary = ok(await syncDir(mode, source, dest));
      assert.equal(summary.filesTotal, 0);
      assert.deepEqual(await snapshotTree(dest), {});
    });

    test('only directories, with their modes and mtimes', async () => {
      const { source, dest } = pair();
      await makeTree(source, {
        'a/': { dir: true, mode: 0o750, mtime: 1_500_000_000_000 },
        'a/b/c': { dir: true, mode: 0o700, mtime: 1_500_000_001_234 },
        'empty': { dir: true, mtime: 1_400_000_000_000 },
      });
      ok(await syncDir(mode, source, dest));
      await assertSynced(source, dest);
    });

    test('new file across several chunks, then equal file skipped', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'big.bin': { data: seededBytes(5 * MiB + 123, 'big'), mode: 0o640, mtime: 1_600_000_000_123 } });
      const first = ok(await syncDir(mode, source, dest, ['-c', '1M']));
      assert.equal(first.filesTransferred, 1);
      assert.equal(first.bytesTransferred, 5 * MiB + 123);
      assert.equal(first.chunksTransferred, 6);
      await assertSynced(source, dest);
      const second = ok(await syncDir(mode, source, dest, ['-c', '1M']));
      assert.equal(second.filesTransferred, 0);
      assert.equal(second.filesSkipped, 1);
      assert.equal(second.bytesTransferred, 0);
      assert.equal(second.chunksSkipped, 6);
    });

    test('totally different file replaces a longer one and truncates it', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'f.bin': seededBytes(300 * KiB, 'new') });
      await makeTree(dest, { 'f.bin': seededBytes(900 * KiB, 'old') });
      const summary = ok(await syncDir(mode, source, dest, ['-c', '64K']));
      assert.equal(summary.bytesTransferred, 300 * KiB);
      await assertSynced(source, dest);
    });

    test('one differing chunk: only the differing block inside it is sent', async () => {
      const { source, dest } = pair();
      const data = seededBytes(4 * MiB, 'chunks');
      await makeTree(dest, { 'db.bin': data });
      const changed = Buffer.from(data);
      changed.fill(7, 2 * MiB + 10, 2 * MiB + 20);
      await makeTree(source, { 'db.bin': changed });
      const summary = ok(await syncDir(mode, source, dest, ['-c', '1M']));
      assert.equal(summary.bytesTransferred, 8 * KiB);
      assert.equal(summary.chunksTransferred, 1);
      assert.equal(summary.chunksSkipped, 3);
      assert.equal(summary.bytesSkipped, 4 * MiB - 8 * KiB);
      assert.equal(summary.filesTransferred, 1);
      await assertSynced(source, dest);
    });

    test('metadata-only difference is fixed without sending data, even on a read-only file', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'ro.txt': { data: 'same content', mode: 0o444, mtime: 1_650_000_000_500 } });
      await makeTree(dest, { 'ro.txt': { data: 'same content', mode: 0o400, mtime: 1_000_000_000_000 } });
      const summary = ok(await syncDir(mode, source, dest));
      assert.equal(summary.bytesTransferred, 0);
      assert.equal(summary.filesSkipped, 1);
      assert.equal(summary.filesTransferred, 0);
      await assertSynced(source, dest);
    });

    test('empty files, weird names and symlinks round-trip', async () => {
      const { source, dest } = pair();
      await makeTree(source, {
        'empty.txt': '',
        'with space.txt': 'a',
        "quote's \"double\".txt": 'b',
        'back\\slash.txt': 'c',
        '[brackets] {braces} (parens) *star?.txt': 'd',
        'ünïcødé/日本語.txt': 'e',
        'emoji 🎉.txt': 'f',
        'link-to-file': { link: 'with space.txt' },
        'link-dangling': { link: 'does/not/exist' },
        'link-absolute': { link: '/etc/hostname' },
        'dir/link-up': { link: '../empty.txt' },
      });
      ok(await syncDir(mode, source, dest));
      await assertSynced(source, dest);
      const again = ok(await syncDir(mode, source, dest));
      assert.equal(again.bytesTransferred, 0);
    });

    test('special files are skipped with a warning, the rest is copied', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'normal.txt': 'n' });
      execFileSync('mkfifo', [join(source, 'pipe')]);
      const result = await syncDir(mode, source, dest);
      const summary = ok(result);
      assert.equal(summary.filesTransferred, 1);
      const warning = result.events.find((e) => e.type === 'warning');
      assert.match(String(warning?.message), /pipe: skipping special file/);
      assert.deepEqual(Object.keys(await snapshotTree(dest)), ['normal.txt']);
    });

    test('a symlink at the destination is replaced, never written through', async () => {
      const { source, dest } = pair();
      const outside = join(work, `outside${n}.txt`);
      await writeFile(outside, 'must stay');
      await makeTree(source, { 'victim.txt': 'new data' });
      await makeTree(dest, { 'victim.txt': { link: outside } });
      ok(await syncDir(mode, source, dest));
      assert.equal(await readFile(outside, 'utf8'), 'must stay');
      await assertSynced(source, dest);
    });

    test('type conflicts: file replaces directory and directory replaces file', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'x': 'now a file', 'y/inner.txt': 'now a dir' });
      await makeTree(dest, { 'x/old.txt': 'was a dir', 'y': 'was a file' });
      ok(await syncDir(mode, source, dest));
      await assertSynced(source, dest);
    });

    test('several-MB files spread over many lanes', async () => {
      const { source, dest } = pair();
      const spec: Record<string, Buffer> = {};
      for (let i = 0; i < 4; i++) spec[`f${i}.bin`] = seededBytes(3 * MiB + i, `lanes${i}`);
      await makeTree(source, spec);
      const result = await syncDir(mode, source, dest, ['-n', '8', '-c', '256K']);
      const summary = ok(result);
      assert.equal(result.events.find((e) => e.type === 'connected')?.lanes, 8);
      assert.equal(summary.bytesTransferred, 12 * MiB + 6);
      await assertSynced(source, dest);
    });

    test('--skip-digest trusts equal size and mtime, and compares otherwise', async () => {
      const { source, dest } = pair();
      const mtime = 1_700_000_000_000;
      await makeTree(source, { 'same.txt': { data: 'AAAA', mtime }, 'newer.txt': { data: 'BBBB', mtime } });
      await makeTree(dest, { 'same.txt': { data: 'XXXX', mtime }, 'newer.txt': { data: 'CCCC', mtime: mtime - 5000 } });
      const summary = ok(await syncDir(mode, source, dest, ['--skip-digest']));
      assert.equal(summary.filesSkipped, 1);
      assert.equal(summary.filesTransferred, 1);
      // Equal size and mtime: left alone, as asked, although the content differs.
      assert.equal(await readFile(join(dest, 'same.txt'), 'utf8'), 'XXXX');
      assert.equal(await readFile(join(dest, 'newer.txt'), 'utf8'), 'BBBB');
      // Without --skip-digest, the digest comparison finds the difference.
      const full = ok(await syncDir(mode, source, dest));
      assert.equal(full.filesTransferred, 1);
      await assertSynced(source, dest);
    });

    test('--delete-unexpected removes extra files and trees, deepest first', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'keep.txt': 'k', 'sub/keep.txt': 'k' });
      await makeTree(dest, { 'extra.txt': 'x', 'sub/extra.txt': 'x', 'gone/deep/er/file': 'x', 'gone/link': { link: 'x' } });
      const without = ok(await syncDir(mode, source, dest));
      assert.equal(without.filesDeleted, 0);
      assert.equal(await readFile(join(dest, 'extra.txt'), 'utf8'), 'x');
      const summary = ok(await syncDir(mode, source, dest, ['--delete-unexpected']));
      assert.equal(summary.filesDeleted, 4);
      assert.equal(summary.dirsDeleted, 3);
      await assertSynced(source, dest);
    });

    test('--delete with filters never deletes what the filters leave out', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'a.txt': 'a', 'logs/': { dir: true } });
      await makeTree(dest, { 'b.txt': 'b', 'c.log': 'c', 'logs/old.log': 'o', 'logs/old.txt': 'o', 'other/x.log': 'x' });
      const summary = ok(await syncDir(mode, source, dest, ['--delete', '-e', '*.log', '-e', '**/*.log']));
      assert.equal(summary.filesDeleted, 2); // b.txt and logs/old.txt
      const after = await snapshotTree(dest);
      assert.deepEqual(Object.keys(after).sort(), ['a.txt', 'c.log', 'logs', 'logs/old.log', 'other', 'other/x.log']);
    });

    test('include and exclude on a nested tree', async () => {
      const { source, dest } = pair();
      await makeTree(source, {
        'top.txt': '1',
        'top.md': '2',
        'a/one.txt': '3',
        'a/b/two.txt': '4',
        'a/b/skip.txt': '5',
        'docs/readme.md': '6',
        'docs/deep/more.md': '7',
      });
      // *.txt: top level only; */*.txt: one level down; a matching directory includes its contents.
      ok(await syncDir(mode, source, dest, ['-i', '*.txt', '-i', '*/*.txt', '-i', 'docs', '-e', '**/skip.txt', '-e', 'docs/deep']));
      const names = Object.keys(await snapshotTree(dest)).sort();
      assert.deepEqual(names, ['a', 'a/one.txt', 'docs', 'docs/readme.md', 'top.txt']);
    });

    test('every hash works and detects a change', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'h.bin': seededBytes(200 * KiB, 'hash') });
      for (const hash of ['xxh64', 'xxh32', 'crc32', 'md5', 'sha1', 'sha256', 'sha512']) {
        const data = seededBytes(200 * KiB, 'hash');
        data[150 * KiB] = data[150 * KiB]! ^ 0xff;
        await makeTree(dest, { 'h.bin': data });
        const summary = ok(await syncDir(mode, source, dest, ['--hash', hash, '-c', '64K']));
        assert.equal(summary.bytesTransferred, 8 * KiB, hash);
        await assertSynced(source, dest);
      }
    });

    test('--block: scattered page writes cost about a page each, contiguous ones coalesce', async () => {
      const { source, dest } = pair();
      const old = seededBytes(4 * MiB, 'pages');
      await makeTree(dest, { 'db': old });
      const edited = Buffer.from(old);
      // 5 scattered 4 KiB writes inside 4 KiB blocks, and one 40 KiB contiguous write.
      for (const page of [3, 100, 333, 700, 1000]) edited.fill(page & 0xff, page * 4 * KiB, page * 4 * KiB + 4 * KiB);
      edited.fill(1, 2 * MiB, 2 * MiB + 40 * KiB);
      await makeTree(source, { 'db': edited });
      const result = await syncDir(mode, source, dest, ['--block', '4K', '--log-level', 'chunks']);
      const summary = ok(result);
      assert.equal(summary.bytesTransferred, 5 * 4 * KiB + 40 * KiB);
      // The contiguous write travels as one run, not ten blocks.
      assert.ok(result.events.some((e) => e.type === 'chunk' && e.length === 40 * KiB));
      await assertSynced(source, dest);
    });

    test('a big file that differs early is prepared at once and still compared against its target', async () => {
      const { source, dest } = pair();
      const old = seededBytes(48 * MiB, 'early');
      const grown = seededBytes(40 * MiB, 'grown');
      await makeTree(dest, { 'db': old, 'log': grown });
      const edited = Buffer.from(old);
      // Changes in the first digest request and in the last: the begin (copying the 48 MiB
      // target into its partial file) starts on hearing of the first, while the rest is hashed.
      for (const offset of [8 * KiB, 47 * MiB]) edited.fill(7, offset, offset + 8 * KiB);
      // A file that grew is known to differ from the listing alone.
      await makeTree(source, { 'db': edited, 'log': Buffer.concat([grown, seededBytes(1 * MiB, 'tail')]) });
      const summary = ok(await syncDir(mode, source, dest, ['-c', '64K']));
      assert.equal(summary.bytesTransferred, 2 * 8 * KiB + 1 * MiB);
      await assertSynced(source, dest);
    });

    test('--inplace rewrites the target file directly', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'in.bin': seededBytes(100 * KiB, 'in') });
      await makeTree(dest, { 'in.bin': seededBytes(150 * KiB, 'old') });
      ok(await syncDir(mode, source, dest, ['--inplace', '-c', '16K']));
      await assertSynced(source, dest);
    });

    test('a partial file left by an interrupted run is reused and never listed', async () => {
      const { source, dest } = pair();
      const data = seededBytes(4 * MiB, 'resume');
      await makeTree(source, { 'r.bin': data });
      // As if an earlier run wrote the first half before dying.
      const half = Buffer.concat([data.subarray(0, 2 * MiB), Buffer.alloc(2 * MiB)]);
      await makeTree(dest, { '.r.bin.pareco-partial': half });
      const summary = ok(await syncDir(mode, source, dest, ['-c', '1M']));
      assert.equal(summary.bytesTransferred, 2 * MiB);
      await assertSynced(source, dest);
    });

    test('mtimes before 1970 and far in the future are kept', async () => {
      const { source, dest } = pair();
      await makeTree(source, {
        'old.txt': { data: 'old', mtime: -86_400_000 * 365 - 0.25 },
        'epoch.txt': { data: 'epoch', mtime: 0 },
        'future.txt': { data: 'future', mtime: 4_102_444_800_123 },
      });
      ok(await syncDir(mode, source, dest));
      await assertSynced(source, dest);
    });

    test('changing source mtime only updates metadata', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'm.txt': { data: 'meta', mtime: 1_600_000_000_000 } });
      ok(await syncDir(mode, source, dest));
      await utimes(join(source, 'm.txt'), new Date(), new Date(1_600_000_999_999));
      const summary = ok(await syncDir(mode, source, dest));
      assert.equal(summary.bytesTransferred, 0);
      await assertSynced(source, dest);
      await truncate(join(source, 'm.txt'), 2);
      ok(await syncDir(mode, source, dest));
      await assertSynced(source, dest);
    });

    test("the root directory's own mode and mtime are synced, after its contents", async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'a.txt': 'a', 'sub/b.txt': 'b' });
      await chmod(source, 0o750);
      await utimes(source, new Date(), new Date(1_500_000_000_123));
      ok(await syncDir(mode, source, dest));
      assert.deepEqual(await rootMeta(dest), await rootMeta(source));
      assert.equal((await rootMeta(dest)).mode, 0o750);
      // A change inside puts the root's mtime back again.
      await writeFile(join(source, 'c.txt'), 'c');
      await utimes(source, new Date(), new Date(1_500_000_000_456));
      ok(await syncDir(mode, source, dest));
      assert.deepEqual(await rootMeta(dest), await rootMeta(source));
      await assertSynced(source, dest);
    });

    test('a stale partial file (its source is gone) is reported, and removed with --delete', async () => {
      const { source, dest } = pair();
      await makeTree(source, { 'kept.txt': 'k' });
      await makeTree(dest, { 'kept.txt': 'k', 'd/.gone.bin.pareco-partial': 'half a file' });
      const reported = await syncDir(mode, source, dest);
      ok(reported);
      const warning = reported.events.find((e) => e.type === 'warning');
      assert.equal(warning?.code, 'STALE_PARTIAL');
      assert.equal(warning?.path, 'd/gone.bin');
      assert.equal(await readFile(join(dest, 'd', '.gone.bin.pareco-partial'), 'utf8'), 'half a file');
      const result = await syncDir(mode, source, dest, ['--delete']);
      ok(result);
      assert.ok(result.events.some((e) => e.type === 'delete' && e.path === 'd/gone.bin' && e.kind === 'partial'));
      await assert.rejects(readFile(join(dest, 'd', '.gone.bin.pareco-partial')));
    });

    for (const args of [['--skip-digest'], ['--inplace'], []]) {
      test(`a partial file is never left behind by a file that is up to date (${args.join(' ') || 'default'})`, async () => {
        const { source, dest } = pair();
        await makeTree(source, { 'same.txt': { data: 'same content', mtime: 1_600_000_000_000 } });
        await makeTree(dest, { 'same.txt': { data: 'same content', mtime: 1_600_000_000_000 }, '.same.txt.pareco-partial': 'junk from an interrupted run' });
        ok(await syncDir(mode, source, dest, args));
        await assert.rejects(readFile(join(dest, '.same.txt.pareco-partial')));
        await assertSynced(source, dest);
      });
    }
  });
}
