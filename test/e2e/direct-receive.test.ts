import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const MiB = 1024 * 1024;

// Lanes on ws:// read big messages straight from the socket (src/transport/direct-receive.ts);
// PARECO_DIRECT_RECEIVE=0 reads them through ws. Each end decides for itself, so every pairing
// must move the same bytes.
const servers: Record<'direct' | 'ws', ServerProcess> = {} as never;
let work: string;
before(async () => {
  servers.direct = await startServerProcess();
  servers.ws = await startServerProcess([], { env: { PARECO_DIRECT_RECEIVE: '0' } });
  work = await tempDir('pareco-direct-');
});

let n = 0;
for (const mode of ['upload', 'download'] as const) {
  for (const client of ['direct', 'ws'] as const) {
    for (const server of ['direct', 'ws'] as const) {
      test(`${mode}, client reading ${client === 'direct' ? 'directly' : 'through ws'}, server ${server === 'direct' ? 'directly' : 'through ws'}: the same bytes`, async () => {
        n++;
        const source = join(work, `src${n}`);
        const dest = join(work, `dst${n}`);
        await makeTree(source, {
          'big.bin': { data: seededBytes(5 * MiB + 12_345, `big${n}`) },
          'mid.bin': { data: seededBytes(300_000, `mid${n}`) },
          'small/a.txt': { data: seededBytes(100, `a${n}`) },
          'small/b.bin': { data: seededBytes(70_000, `b${n}`) },
        });
        const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
        const result = await runPareco(['-m', mode, '-l', local, '-r', remote, '-s', servers[server].url, '--json', '--no-cache'], {
          env: client === 'ws' ? { PARECO_DIRECT_RECEIVE: '0' } : {},
        });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      });
    }
  }
}
