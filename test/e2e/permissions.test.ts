import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTree } from '../support/make-tree.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';
import { chownTree, unprivileged, type Unprivileged } from '../support/unprivileged.js';

/*
 * What permissions do to a sync, with both processes run as a user whose permissions count
 * (nobody, when the tests run as root): read-only destination directories, unreadable source
 * files and directories.
 */
const user = unprivileged();
const skip = typeof user === 'string' ? user : undefined;

describe('permissions (as an unprivileged user)', { skip }, () => {
  const as = user as Unprivileged;
  let server: ServerProcess;
  let work: string;
  before(async () => {
    work = await tempDir('pareco-perms-');
    await chmod(work, 0o755);
    await chownTree(work, as);
    server = await startServerProcess([], { command: as.command });
  });
  after(async () => {
    // Give everything back to the test's user so that the temporary directory can be removed.
    await chmodTree(work);
  });

  let n = 0;
  /** A source and a destination directory owned by the unprivileged user. */
  async function pair(): Promise<{ source: string; dest: string }> {
    n++;
    const source = join(work, `src${n}`);
    const dest = join(work, `dst${n}`);
    await mkdir(source);
    await mkdir(dest);
    return { source, dest };
  }
  const sync = (mode: 'upload' | 'download', source: string, dest: string, args: string[] = []) => {
    const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
    return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '--json', ...args], { command: as.command });
  };

  for (const mode of ['upload', 'download'] as const) {
    test(`${mode}: files in read-only destination directories are updated, and the directories keep their mode`, async () => {
      const { source, dest } = await pair();
      await makeTree(source, { 'ro/f.txt': { data: 'new content', mtime: 1_700_000_000_000 }, 'ro/g.txt': 'a new file', 'ro/sub/h.txt': 'deeper' });
      await makeTree(dest, { 'ro/f.txt': { data: 'old', mtime: 1_600_000_000_000 }, 'ro/sub/h.txt': 'stale!' });
      await chownTree(source, as);
      await chownTree(dest, as);
      for (const root of [source, dest]) {
        await chmod(join(root, 'ro', 'sub'), 0o555);
        await chmod(join(root, 'ro'), 0o555);
      }
      const result = await sync(mode, source, dest);
      assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
      assert.equal(await readFile(join(dest, 'ro', 'f.txt'), 'utf8'), 'new content');
      assert.equal(await readFile(join(dest, 'ro', 'g.txt'), 'utf8'), 'a new file');
      assert.equal((await stat(join(dest, 'ro'))).mode & 0o7777, 0o555);
      assert.equal((await stat(join(dest, 'ro', 'sub'))).mode & 0o7777, 0o555);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
    });

    test(`${mode}: an unreadable source directory is an error naming it (exit 23), the rest is copied, nothing is deleted`, async () => {
      const { source, dest } = await pair();
      await makeTree(source, { 'ok.txt': 'fine', 'secret/inside.txt': 'hidden', 'z/last.txt': 'after it' });
      await makeTree(dest, { 'extra.txt': 'would be deleted', 'secret/inside.txt': 'keep me' });
      await chownTree(source, as);
      await chownTree(dest, as);
      await chmod(join(source, 'secret'), 0o000);
      const result = await sync(mode, source, dest, ['--delete']);
      await chmod(join(source, 'secret'), 0o755);
      assert.equal(result.code, 23, `${result.stderr}\n${result.stdout}`);
      const errors = result.events.filter((e) => e.type === 'error');
      assert.deepEqual(errors.map((e) => e.path), ['secret']);
      assert.match(String(errors[0]!.message), /^secret: cannot read directory: permission denied \(EACCES\)$/);
      assert.equal(await readFile(join(dest, 'ok.txt'), 'utf8'), 'fine');
      assert.equal(await readFile(join(dest, 'z', 'last.txt'), 'utf8'), 'after it');
      assert.equal(await readFile(join(dest, 'extra.txt'), 'utf8'), 'would be deleted');
      assert.equal(await readFile(join(dest, 'secret', 'inside.txt'), 'utf8'), 'keep me');
    });

    test(`${mode}: an unreadable source file fails that file only (exit 23)`, async () => {
      const { source, dest } = await pair();
      await makeTree(source, { 'ok.txt': 'fine', 'secret.txt': { data: 'no', mode: 0o000 } });
      await chownTree(source, as);
      await chownTree(dest, as);
      const result = await sync(mode, source, dest);
      assert.equal(result.code, 23, result.stderr);
      assert.deepEqual(result.events.filter((e) => e.type === 'error').map((e) => e.path), ['secret.txt']);
      assert.equal(await readFile(join(dest, 'ok.txt'), 'utf8'), 'fine');
      await chmod(join(source, 'secret.txt'), 0o600);
    });
  }
});

/** Makes every directory of a tree writable again (tests leave some read-only). */
async function chmodTree(path: string): Promise<void> {
  const { readdir, lstat } = await import('node:fs/promises');
  const st = await lstat(path);
  if (!st.isDirectory()) return;
  await chmod(path, 0o755);
  for (const name of await readdir(path)) await chmodTree(join(path, name));
}
