import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWindow } from '../../../src/client/byte-window.js';
import { runEngine } from '../../../src/client/engine.js';
import type { EngineContext } from '../../../src/client/engine-context.js';
import { emptySummary, type SyncEvent } from '../../../src/client/sync-report.js';
import { loadDigest } from '../../../src/digest/registry.js';
import { RangeDigest } from '../../../src/digest/range-digest.js';
import { PathFilter } from '../../../src/fs/filter.js';
import { Cancellation } from '../../../src/transport/cancellation.js';
import { MemoryTree } from '../../support/memory-tree.js';

const CHUNK = 4096;
const BLOCK = 512;
const range = new RangeDigest(await loadDigest('xxh64'), BLOCK);

function trees(): { source: MemoryTree; dest: MemoryTree } {
  return { source: new MemoryTree(range, CHUNK), dest: new MemoryTree(range, CHUNK) };
}

async function sync(source: MemoryTree, dest: MemoryTree, options: Partial<EngineContext> = {}): Promise<{ ctx: EngineContext; events: SyncEvent[] }> {
  const events: SyncEvent[] = [];
  const ctx: EngineContext = {
    source,
    dest,
    chunk: CHUNK,
    range,
    skipDigest: false,
    inplace: false,
    dryRun: false,
    filter: await PathFilter.create(),
    deletion: { enabled: false },
    window: new ByteWindow(1024 * 1024),
    compares: new ByteWindow(16),
    summary: emptySummary(),
    emit: (event) => events.push(event),
    reportUnchanged: false,
    cancellation: new Cancellation(),
    unreported: { files: 0, bytes: 0 },
    ...options,
  };
  await runEngine(ctx, { source: {}, dest: { digests: true } });
  return { ctx, events };
}

/** The destination's entries as `path kind size mode mtime`, root excluded. */
function contents(tree: MemoryTree): string[] {
  return [...tree.nodes.values()]
    .filter((node) => node.entry.path !== '')
    .map(({ entry, data }) => `${entry.path} ${entry.kind} ${data?.toString('hex').slice(0, 16) ?? ''} ${entry.mode.toString(8)} ${Math.floor(entry.mtime)}`)
    .sort();
}

const position = (log: string[], line: string) => {
  const at = log.indexOf(line);
  assert.notEqual(at, -1, `${line} in\n${log.join('\n')}`);
  return at;
};

describe('the engine, on trees in memory', () => {
  test('a fresh copy: every directory gets its metadata after its own entries', async () => {
    const { source, dest } = trees();
    source.addDir('a', { mode: 0o750, mtime: 5_000 }).addDir('a/b', { mtime: 6_000 }).addFile('a/b/c.txt', 'c').addFile('a/big', Buffer.alloc(3 * CHUNK + 5, 7));
    source.addFile('top.txt', 'top').addLink('a/link', '../top.txt').addDir('empty', { mtime: 7_000 });
    const { ctx } = await sync(source, dest);
    assert.deepEqual(contents(dest), contents(source));
    const log = dest.log;
    // Entries go into new directories at once (the destination creates missing parents): a
    // directory's metadata still comes after its own entries.
    assert.ok(position(log, 'put a/b/c.txt') < position(log, 'meta a/b'));
    // New directories are created by what goes into them (one request less each); only an
    // empty one gets a mkdir of its own.
    assert.ok(!log.includes('mkdir a') && !log.includes('mkdir a/b'));
    assert.ok(log.includes('mkdir empty'));
    // A new subdirectory is created by its contents, so 'a' waits for them before its metadata.
    assert.ok(position(log, 'put a/b/c.txt') < position(log, 'meta a'));
    assert.ok(position(log, 'commit a/big') < position(log, 'meta a'));
    assert.ok(position(log, 'symlink a/link') < position(log, 'meta a'));
    for (const top of ['meta a', 'mkdir empty', 'put top.txt']) assert.ok(position(log, top) < position(log, 'meta '), `${top} before the root's metadata`);
    assert.equal(ctx.summary.filesTransferred, 3);
    assert.equal(ctx.summary.filesTotal, 3);
  });

  test('a directory whose mode shuts its owner out gets it only after everything inside', async () => {
    const { source, dest } = trees();
    source.addDir('locked', { mode: 0o600 }).addDir('locked/sub').addFile('locked/sub/f', 'f');
    await sync(source, dest);
    assert.ok(position(dest.log, 'put locked/sub/f') < position(dest.log, 'meta locked'));
    assert.ok(position(dest.log, 'meta locked/sub') < position(dest.log, 'meta locked'));
  });

  test('a re-sync of the same trees changes nothing and counts everything up to date', async () => {
    const { source, dest } = trees();
    source.addDir('d').addFile('d/x', 'x'.repeat(100)).addFile('big', Buffer.alloc(2 * CHUNK, 1));
    await sync(source, dest);
    dest.log.length = 0;
    const { ctx, events } = await sync(source, dest);
    assert.deepEqual(dest.log, []);
    assert.equal(ctx.summary.filesSkipped, 2);
    assert.deepEqual(events.filter((e) => e.type === 'uptodate').reduce((n, e) => n + (e.type === 'uptodate' ? e.files : 0), 0), 2);
  });

  test('a changed big file sends only the blocks that differ; a small one goes whole', async () => {
    const { source, dest } = trees();
    const old = Buffer.alloc(3 * CHUNK, 3);
    dest.addFile('big', old).addFile('small', 'before');
    const edited = Buffer.from(old);
    edited[CHUNK + 700] = 9; // block 1 of chunk 1
    source.addFile('big', edited).addFile('small', 'after!');
    const { ctx } = await sync(source, dest);
    assert.deepEqual(dest.log.filter((line) => line.startsWith('write')), [`write big ${CHUNK + BLOCK}+${BLOCK}`]);
    assert.ok(dest.log.includes('put small'));
    assert.equal(ctx.summary.bytesTransferred, BLOCK + 6);
    assert.deepEqual(contents(dest), contents(source));
  });

  test('deletions: only with --delete, children before their directory, never what the filters leave out', async () => {
    const { source, dest } = trees();
    source.addFile('keep', 'k');
    dest.addFile('keep', 'k').addDir('gone').addDir('gone/deeper').addFile('gone/deeper/f', 'f').addFile('gone/g', 'g').addFile('extra.log', 'x').addFile('protected.bak', 'p');
    await sync(source, dest);
    assert.equal(dest.nodes.size, 8, 'nothing deleted without --delete');
    const { ctx } = await sync(source, dest, { deletion: { enabled: true }, filter: await PathFilter.create([], ['*.bak']) });
    assert.deepEqual([...dest.nodes.keys()].sort(), ['', 'keep', 'protected.bak']);
    const log = dest.log;
    assert.ok(position(log, 'delete gone/deeper/f') < position(log, 'delete gone/deeper'));
    assert.ok(position(log, 'delete gone/deeper') < position(log, 'delete gone'));
    assert.ok(position(log, 'delete gone/g') < position(log, 'delete gone'));
    assert.equal(ctx.summary.filesDeleted, 3);
    assert.equal(ctx.summary.dirsDeleted, 2);
  });

  test('--max-delete: all or nothing', async () => {
    const { source, dest } = trees();
    dest.addFile('a', 'a').addFile('b', 'b').addFile('c', 'c');
    const { ctx, events } = await sync(source, dest, { deletion: { enabled: true, max: 2 } });
    assert.equal(dest.nodes.size, 4);
    assert.equal(ctx.summary.deletionsRefused, 3);
    assert.ok(events.some((e) => e.type === 'warning' && e.code === 'DELETE_LIMIT'));
  });

  test('a destination directory where the source has a file is replaced, and what it held is not reported again', async () => {
    const { source, dest } = trees();
    source.addFile('x', 'now a file');
    dest.addDir('x').addDir('x/sub').addFile('x/sub/inner', 'i');
    const { ctx, events } = await sync(source, dest, { deletion: { enabled: true } });
    assert.deepEqual(contents(dest), contents(source));
    assert.deepEqual(events.filter((e) => e.type === 'delete'), []);
    assert.equal(ctx.summary.filesDeleted, 0);
  });

  test('an unreadable source entry is a failure, and then nothing is deleted', async () => {
    const { source, dest } = trees();
    source.nodes.set('secret', { entry: { path: 'secret', kind: 'x', size: 0, mtime: 0, mode: 0, error: 'secret: cannot read directory: permission denied (EACCES)' } });
    dest.addDir('secret').addFile('secret/kept', 'k').addFile('extra', 'e');
    const { ctx, events } = await sync(source, dest, { deletion: { enabled: true } });
    assert.equal(ctx.summary.filesFailed, 1);
    assert.ok(dest.nodes.has('extra') && dest.nodes.has('secret/kept'));
    assert.ok(events.some((e) => e.type === 'warning' && e.code === 'DELETE_SKIPPED'));
  });
});
