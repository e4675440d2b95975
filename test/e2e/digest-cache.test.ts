import assert from 'node:assert/strict';
import { mkdir, open, readFile, rename, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { seededBytes } from '../support/make-tree.js';
import { bytesRead, countingReads, probedReads } from '../support/read-bytes.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const MiB = 1024 * 1024;

/** A tree of small files (one chunk or less: cached by directory) and one big file (a row of its own). */
async function makeData(root: string): Promise<number> {
  let total = 0;
  for (let d = 0; d < 3; d++) {
    await mkdir(join(root, `dir${d}`), { recursive: true });
    for (let f = 0; f < 40; f++) {
      const data = seededBytes(100 * 1024 + f, `${root}/${d}/${f}`);
      await writeFile(join(root, `dir${d}`, `file${f}.bin`), data);
      total += data.length;
    }
  }
  const big = seededBytes(24 * MiB + 123, `${root}/big`);
  await writeFile(join(root, 'big.bin'), big);
  // Digests are trusted only for files older than the moment they were taken (by 100 ms).
  await sleep(150);
  return total + big.length;
}

/** Overwrites `length` bytes at `offset` of a file, then gives it back its mtime (touch -r). */
async function rewriteKeepingMtime(file: string, offset: number, bytes: Buffer): Promise<void> {
  const { atime, mtime } = await stat(file);
  const handle = await open(file, 'r+');
  await handle.write(bytes, 0, bytes.length, offset);
  await handle.close();
  await utimes(file, atime, mtime);
}

const cached = (result: CliResult, side: 'local' | 'remote') => ((result.summary?.cached as Record<string, { files: number; bytes: number }>) ?? {})[side];

describe('the digest cache', () => {
  let dir: string;
  let server: ServerProcess;
  let clientCache: string;
  let serverPid: number;

  before(async () => {
    dir = await tempDir();
    clientCache = join(dir, 'client-cache');
    server = await startServerProcess(['--cache-dir', join(dir, 'server-cache')]);
    serverPid = server.child.pid!;
  });

  const sync = (mode: 'upload' | 'download', local: string, remote: string, extra: string[] = [], command?: (args: string[]) => string[]) =>
    runPareco(
      ['-m', mode, '-l', local, '-r', remote, '-s', server.url, ...(extra.includes('--no-cache') ? [] : ['--cache-dir', clientCache]), '--json', ...extra],
      command === undefined ? {} : { command },
    );

  for (const mode of ['upload', 'download'] as const) {
    test(`a re-sync of unchanged data reads no file on either side (${mode})`, async () => {
      const [src, dst] = [join(dir, `${mode}-src`), join(dir, `${mode}-dst`)];
      const total = await makeData(src);
      const [local, remote] = mode === 'upload' ? [src, dst] : [dst, src];
      const first = await sync(mode, local, remote);
      assert.equal(first.code, 0, first.stderr);
      await sleep(150); // what the client wrote becomes trustworthy (a server waits for that itself)

      const probe = join(dir, `${mode}-io`);
      const serverBefore = await bytesRead(serverPid);
      const again = await sync(mode, local, remote, [], countingReads(probe));
      const serverReads = (await bytesRead(serverPid)) - serverBefore;
      const clientReads = await probedReads(probe);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.summary?.bytesTransferred, 0);
      assert.deepEqual(cached(again, 'local'), { files: 121, bytes: total });
      assert.deepEqual(cached(again, 'remote'), { files: 121, bytes: total });
      // Not a byte of the ~36 MiB of data: the client's reads are its own code and modules.
      assert.ok(clientReads < 12 * MiB, `the client read ${clientReads} bytes`);
      assert.ok(serverReads < MiB, `the server read ${serverReads} bytes`);

      // The control: without the cache, both sides read everything.
      const uncached = await sync(mode, local, remote, ['--no-cache'], countingReads(probe));
      assert.equal(uncached.code, 0, uncached.stderr);
      assert.ok((await probedReads(probe)) > total, 'without the cache the client reads every file');
      assert.deepEqual(cached(uncached, 'local'), { files: 0, bytes: 0 });
    });
  }

  test('a change that kept size and mtime is found, on either side (ctime, inode)', async () => {
    const [src, dst] = [join(dir, 'change-src'), join(dir, 'change-dst')];
    await makeData(src);
    assert.equal((await sync('upload', src, dst)).code, 0);
    assert.equal((await sync('upload', src, dst)).code, 0); // both sides cached now
    await sleep(150);

    // Source: content rewritten in place, mtime given back (touch -r).
    await rewriteKeepingMtime(join(src, 'dir0', 'file3.bin'), 10, Buffer.from('changed at the source'));
    await rewriteKeepingMtime(join(src, 'big.bin'), 20 * MiB, Buffer.from('changed inside a big file'));
    // Source: replaced by another file of the same size and mtime (a new inode).
    const replaced = join(src, 'dir1', 'file7.bin');
    const { size, atime, mtime } = await stat(replaced);
    await writeFile(`${replaced}.new`, seededBytes(size, 'another file'));
    await utimes(`${replaced}.new`, atime, mtime);
    await rename(`${replaced}.new`, replaced);
    // Destination: changed behind Pareco's back, mtime given back.
    await rewriteKeepingMtime(join(dst, 'dir2', 'file1.bin'), 0, Buffer.from('changed at the destination'));

    const result = await sync('upload', src, dst);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.summary?.filesTransferred, 4);
    assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
  });

  test('a damaged cache file is rebuilt, never fatal: garbage, then a truncated one', async () => {
    const [src, dst] = [join(dir, 'damage-src'), join(dir, 'damage-dst')];
    await makeData(src);
    const cacheDir = join(dir, 'damaged-cache');
    const withCache = ['--cache-dir', cacheDir];
    await mkdir(cacheDir);
    await writeFile(join(cacheDir, 'digests.sqlite'), seededBytes(64 * 1024, 'not a database'));
    const first = await runPareco(['-m', 'upload', '-l', src, '-r', dst, '-s', server.url, '--json', ...withCache]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
    assert.equal((await readFile(join(cacheDir, 'digests.sqlite'))).subarray(0, 15).toString(), 'SQLite format 3', 'rebuilt as a database');

    const { size } = await stat(join(cacheDir, 'digests.sqlite'));
    await truncate(join(cacheDir, 'digests.sqlite'), Math.floor(size / 2));
    await rewriteKeepingMtime(join(src, 'dir0', 'file0.bin'), 0, Buffer.from('after the damage'));
    const second = await runPareco(['-m', 'upload', '-l', src, '-r', dst, '-s', server.url, '--json', ...withCache]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
  });

  test('two syncs at once share one cache without harm, and both are cached for the next', async () => {
    const trees = ['a', 'b'].map((name) => ({ src: join(dir, `twin-${name}-src`), dst: join(dir, `twin-${name}-dst`) }));
    for (const { src } of trees) await makeData(src);
    const firsts = await Promise.all(trees.map(({ src, dst }) => sync('upload', src, dst)));
    for (const first of firsts) assert.equal(first.code, 0, first.stderr);
    const seconds = await Promise.all(trees.map(({ src, dst }) => sync('upload', src, dst)));
    for (const [i, second] of seconds.entries()) {
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.summary?.bytesTransferred, 0);
      assert.deepEqual(await snapshotTree(trees[i]!.dst), await snapshotTree(trees[i]!.src));
      assert.equal(cached(second, 'local')?.files, 121);
      assert.equal(cached(second, 'remote')?.files, 121);
    }
  });

  test('--no-cache on the server: every file is read there; the summary says none came from a cache', async () => {
    const plain = await startServerProcess(['--no-cache']);
    await plain.waitForOutput(/no digest cache: every file compared is read/);
    const [src, dst] = [join(dir, 'nocache-src'), join(dir, 'nocache-dst')];
    await makeData(src);
    const args = ['-m', 'upload', '-l', src, '-r', dst, '-s', plain.url, '--cache-dir', clientCache, '--json'];
    assert.equal((await runPareco(args)).code, 0);
    const again = await runPareco(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(cached(again, 'remote'), { files: 0, bytes: 0 });
    assert.equal(cached(again, 'local')?.files, 121);
  });

  test('contradicting cache options are a usage error', async () => {
    const result = await runPareco(['-m', 'upload', '-l', dir, '-r', join(dir, 'x'), '--cache-dir', clientCache, '--no-cache']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'pareco: --cache-dir and --no-cache contradict each other\n');
  });
});
