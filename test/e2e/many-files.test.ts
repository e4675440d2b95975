import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/**
 * Listings of many batches (4,500 entries: the client asks batches ahead on every lane, so they
 * reach the server out of order) and many small files by the batch, both ways, then a re-sync
 * that finds them all in place.
 */
let server: ServerProcess;
let source: string;
let work: string;
before(async () => {
  server = await startServerProcess();
  work = await tempDir('pareco-many-');
  source = join(work, 'src');
  for (let d = 0; d < 30; d++) {
    mkdirSync(join(source, `dir${d}`), { recursive: true });
    for (let f = 0; f < 150; f++) writeFileSync(join(source, `dir${d}`, `file${f}.txt`), `${d}/${f}\n`.repeat(f % 7));
  }
});

for (const mode of ['upload', 'download'] as const) {
  test(`${mode}: 4,500 small files over 4 lanes, then a re-sync that changes nothing`, async () => {
    const dest = join(work, `dst-${mode}`);
    const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
    const args = ['-m', mode, '-l', local, '-r', remote, '-s', server.url, '-n', '4', '--json'];
    const first = await runPareco(args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.summary?.filesTransferred, 4500);
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
    const second = await runPareco(args);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.summary?.filesSkipped, 4500);
    assert.equal(second.summary?.bytesTransferred, 0);
  });
}
