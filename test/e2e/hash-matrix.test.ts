import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { after } from 'node:test';
import { HASHES } from '../../protocol/index.js';
import { sync, type SyncEvent } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/**
 * In-process (the programmatic API over real sockets to a real server): 84 syncs as CLI
 * processes took half a minute of start-ups. Every hash with every kind of chunk and block size: a chunk smaller than a digest (where the
 * block list of a chunk holds more digest bytes than the chunk has data), a chunk that is one
 * block, blocks smaller than the chunk, and the defaults.
 */
const SIZES: { chunk: string; block?: string; bytes: number; blockBytes: number }[] = [
  { chunk: '1', bytes: 1, blockBytes: 1 },
  { chunk: '10', bytes: 10, blockBytes: 10 },
  { chunk: '700', bytes: 700, blockBytes: 700 },
  { chunk: '4K', block: '512', bytes: 4096, blockBytes: 512 },
  { chunk: '64K', bytes: 65536, blockBytes: 8192 },
  { chunk: '1M', bytes: 1048576, blockBytes: 8192 },
];

let server: RunningServer;
let work: string;
before(async () => {
  server = await startServer({ token: 'matrix' });
  work = await tempDir('pareco-hashes-');
});
after(() => server.close());

/** Runs `jobs` with at most `limit` at once. */
async function limited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  const queue = [...jobs];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) await job();
  }));
}

for (const mode of ['upload', 'download'] as const) {
  describe(`every hash at every chunk size (${mode})`, () => {
    test('new and changed files arrive exact; a changed byte costs one block', async () => {
      const jobs = HASHES.flatMap((hash) =>
        SIZES.map((size) => async () => {
          const source = join(work, `${mode}-${hash}-${size.chunk}-src`);
          const dest = join(work, `${mode}-${hash}-${size.chunk}-dst`);
          const length = 3 * size.bytes + Math.ceil(size.bytes / 3);
          const changed = seededBytes(Math.max(length, 2000), `changed-${hash}`);
          const old = Buffer.from(changed);
          const at = Math.floor(old.length / 2);
          old[at] = old[at]! ^ 0xff;
          await makeTree(source, { 'new.bin': seededBytes(length, `new-${hash}`), 'changed.bin': changed, 'tiny.txt': 'x' });
          await makeTree(dest, { 'changed.bin': old });
          const [localDir, remoteDir] = mode === 'upload' ? [source, dest] : [dest, source];
          const events: SyncEvent[] = [];
          const label = `${hash} -c ${size.chunk}${size.block ? ` --block ${size.block}` : ''}`;
          const summary = await sync({
            mode, localDir, remoteDir, server: server.url, token: 'matrix', hash, chunk: size.bytes,
            ...(size.block ? { block: size.blockBytes } : {}), connections: 2, onEvent: (e) => events.push(e),
          });
          assert.equal(summary.ok, true, `${label}: ${JSON.stringify(events.filter((e) => e.type === 'error'))}`);
          assert.deepEqual(await snapshotTree(dest), await snapshotTree(source), label);
          const changedEvent = events.find((e) => e.type === 'file' && e.path === 'changed.bin');
          assert.ok(changedEvent?.type === 'file' && changedEvent.action === 'update', label);
          assert.ok(changedEvent.bytesSent <= size.blockBytes, `${label}: ${changedEvent.bytesSent} bytes sent for one changed byte`);
        }),
      );
      await limited(jobs, 4);
    });
  });
}
