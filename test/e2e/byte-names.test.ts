import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile, utimes, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/** `root` + '/' + the raw bytes of a relative path. */
const at = (root: string, ...bytes: number[][]) => Buffer.concat([Buffer.from(`${root}/`), Buffer.from(bytes.flat())]);
const ascii = (text: string) => [...Buffer.from(text)];
const SLASH = ascii('/');

/**
 * Latin-1 names (not UTF-8) at every depth, as files, directories and symlinks, and as a
 * symlink's target; the next to plain names, so that a skipped one would show.
 */
async function latin1Tree(root: string): Promise<void> {
  const cafe = [...ascii('caf'), 0xe9, ...ascii('.txt')];
  const dir = [...ascii('d'), 0xff, 0xfe];
  const sub = [...ascii('sub'), 0xe9];
  await mkdir(root, { recursive: true });
  await writeFile(at(root, cafe), 'latin-1 name');
  await writeFile(join(root, 'ok.txt'), 'plain');
  await mkdir(at(root, dir));
  await writeFile(at(root, dir, SLASH, [...ascii('inner'), 0x80, ...ascii('.bin')]), Buffer.alloc(3000, 7));
  await mkdir(at(root, dir, SLASH, sub));
  await writeFile(at(root, dir, SLASH, sub, SLASH, [...ascii('deep'), 0xe9, 0xe9]), 'deep');
  await symlink(Buffer.from(cafe), at(root, [...ascii('l'), 0xe9, ...ascii('nk')]));
  await lutimes(at(root, [...ascii('l'), 0xe9, ...ascii('nk')]), new Date(), new Date(1_600_000_000_000));
  await utimes(at(root, dir, SLASH, sub), new Date(), new Date(1_500_000_000_000));
}

let server: ServerProcess;
let work: string;
before(async () => {
  server = await startServerProcess();
  work = await tempDir('pareco-bytes-');
});

for (const mode of ['upload', 'download'] as const) {
  describe(`names that are not UTF-8 (${mode})`, () => {
    test('travel byte for byte at every depth: files, directories, symlinks and their targets', async () => {
      const source = join(work, `${mode}-src`);
      const dest = join(work, `${mode}-dst`);
      await latin1Tree(source);
      const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
      const result = await runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const snapshot = await snapshotTree(dest);
      assert.deepEqual(snapshot, await snapshotTree(source));
      assert.ok('caf\udce9.txt' in snapshot && 'd\udcff\udcfe/sub\udce9/deep\udce9\udce9' in snapshot, Object.keys(snapshot).join(', '));
      assert.equal(snapshot['l\udce9nk']?.target, 'caf\udce9.txt');
      assert.equal(result.summary?.filesTotal, 4);
      assert.equal(result.summary?.filesTransferred, 4);
      // --json: the bytes as lone surrogates \udcXX (Python's surrogateescape reads them back).
      assert.match(result.stdout, /"path":"caf\\udce9\.txt"/);

      // A second run finds everything in place.
      const again = await runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.summary?.filesSkipped, 4);
      assert.equal(again.summary?.filesTransferred, 0);
    });

    test('human output, --itemize and the server log show the odd bytes as \\#ooo, never raw', async () => {
      const source = join(work, `${mode}-src-out`);
      const dest = join(work, `${mode}-dst-out`);
      await latin1Tree(source);
      const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
      const plain = await runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^new {7}caf\\#351\.txt \(12 B\)$/m);
      assert.match(plain.stdout, /^symlink {3}l\\#351nk -> caf\\#351\.txt$/m);
      assert.doesNotMatch(plain.stdout + plain.stderr, /[\ufffd\udc80-\udcff]/);
      const dest2 = join(work, `${mode}-dst-itemize`);
      const [local2, remote2] = mode === 'upload' ? [source, dest2] : [dest2, source];
      const itemized = await runPareco(['-m', mode, '-l', local2, '-r', remote2, '-s', server.url, '--itemize']);
      assert.equal(itemized.code, 0, itemized.stderr);
      assert.match(itemized.stdout, /^[<>]f\+{9} d\\#377\\#376\/sub\\#351\/deep\\#351\\#351$/m);
    });

    test('globs match an odd byte as one character', async () => {
      const source = join(work, `${mode}-src-glob`);
      const dest = join(work, `${mode}-dst-glob`);
      await latin1Tree(source);
      const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
      const result = await runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '--json', '-i', 'caf?.txt', '-i', 'd??/sub?']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(Object.keys(await snapshotTree(dest)).sort(), ['caf\udce9.txt', 'd\udcff\udcfe', 'd\udcff\udcfe/sub\udce9', 'd\udcff\udcfe/sub\udce9/deep\udce9\udce9'].sort());
    });
  });
}
