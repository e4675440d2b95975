import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DigestCache, type FileState } from '../../../src/fs/digest-cache.js';
import { openSqlite } from '../../../src/fs/sqlite.js';
import { tempDir } from '../../support/temp-dir.js';

const MS = 1_000_000n;
const T = 1_764_000_000_000n * MS; // a moment in 2025, in ns
const params = { hash: 'xxh64', chunk: 1024 * 1024, block: 8192 };
const dir = { dev: 1n, ino: 100n };
const state = (over: Partial<FileState> = {}): FileState => ({ dev: 1n, ino: 7n, size: 10n, mtimeNs: T, ctimeNs: T, ...over });
const digest = Buffer.from('0011223344556677', 'hex');

/** A cache whose clock the test sets. */
async function cacheAt(clock: { now: bigint }, path?: string): Promise<{ cache: DigestCache; path: string; warnings: string[] }> {
  const where = path ?? (await tempDir());
  const warnings: string[] = [];
  const cache = DigestCache.open(where, (w) => warnings.push(w), () => clock.now);
  assert.ok(cache);
  return { cache, path: where, warnings };
}

test('a digest is trusted only when the file was in its state safely before the digest was taken (racy git)', async () => {
  const clock = { now: T + 1000n * MS };
  const { cache } = await cacheAt(clock);
  // Hashed 50 ms after the file's last change: a change within the same tick would not show.
  cache.recordSmall(dir, 'racy', state(), params, digest, T + 50n * MS);
  assert.equal(cache.lookupSmall(dir, 'racy', state(), params), undefined);
  // Hashed a second after: trusted.
  cache.recordSmall(dir, 'safe', state({ ino: 8n }), params, digest, T + 1000n * MS);
  assert.deepEqual(cache.lookupSmall(dir, 'safe', state({ ino: 8n }), params), digest);
  // The same for a big file's row.
  const big = state({ ino: 9n, size: 5n * 1024n * 1024n });
  cache.record(big, params, { chunks: digest, blocks: undefined }, T + 50n * MS);
  assert.equal(cache.lookup(big, params), undefined);
  cache.record(big, params, { chunks: digest, blocks: undefined }, T + 1000n * MS);
  assert.deepEqual(cache.lookup(big, params)?.chunks, digest);
  cache.close();
});

test('every field of the state must match: inode, size, mtime and ctime to the nanosecond; and the digest parameters', async () => {
  const clock = { now: T + 1000n * MS };
  const { cache } = await cacheAt(clock);
  cache.recordSmall(dir, 'f', state(), params, digest, T + 1000n * MS);
  for (const changed of [state({ ino: 70n }), state({ size: 11n }), state({ mtimeNs: T + 1n }), state({ ctimeNs: T + 1n })]) {
    assert.equal(cache.lookupSmall(dir, 'f', changed, params), undefined, JSON.stringify(changed, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
  assert.equal(cache.lookupSmall(dir, 'f', state(), { ...params, block: 4096 }), undefined);
  assert.equal(cache.lookupSmall(dir, 'f', state(), { ...params, hash: 'sha256' }), undefined);
  assert.deepEqual(cache.lookupSmall(dir, 'f', state(), params), digest);
  cache.close();
});

test('kept across processes (reopened), and rows of files gone from a directory are dropped', async () => {
  const clock = { now: T + 1000n * MS };
  const first = await cacheAt(clock);
  first.cache.recordSmall(dir, 'stays', state(), params, digest, T + 1000n * MS);
  first.cache.recordSmall(dir, 'goes', state({ ino: 8n }), params, digest, T + 1000n * MS);
  first.cache.close();

  const second = await cacheAt(clock, first.path);
  second.cache.directoryListed(dir, params, new Set(['stays', 'other']));
  second.cache.close();
  const third = await cacheAt(clock, first.path);
  assert.deepEqual(third.cache.lookupSmall(dir, 'stays', state(), params), digest);
  assert.equal(third.cache.lookupSmall(dir, 'goes', state({ ino: 8n }), params), undefined);
  third.cache.close();
});

test('a file written is confirmed at the end only if no one changed it since, and once it is safely in the past', async () => {
  const clock = { now: T + 10n * MS };
  const { cache } = await cacheAt(clock);
  const states = new Map<string, FileState>();
  // Written just now: recorded as of now, so racy until confirmed.
  cache.recordSmall(dir, 'kept', state(), params, digest, clock.now, { path: '/x/kept' });
  cache.recordSmall(dir, 'changed', state({ ino: 8n }), params, digest, clock.now, { path: '/x/changed' });
  states.set('/x/kept', state());
  states.set('/x/changed', state({ ino: 8n, ctimeNs: T + 5n * MS }));
  assert.equal(cache.unsettledMs(), 91);
  cache.confirmWritten((path) => states.get(path));
  assert.equal(cache.lookupSmall(dir, 'kept', state(), params), undefined, 'too soon: nothing confirmed');
  clock.now = T + 200n * MS;
  assert.equal(cache.unsettledMs(), 0);
  cache.confirmWritten((path) => states.get(path));
  assert.deepEqual(cache.lookupSmall(dir, 'kept', state(), params), digest);
  assert.equal(cache.lookupSmall(dir, 'changed', state({ ino: 8n }), params), undefined);
  cache.close();
});

test('a file that is no cache of ours, or of another format, is replaced by a new cache', async () => {
  const where = await tempDir();
  await writeFile(join(where, 'digests.sqlite'), 'certainly not SQLite '.repeat(1000));
  const clock = { now: T + 1000n * MS };
  const { cache, warnings } = await cacheAt(clock, where);
  cache.recordSmall(dir, 'f', state(), params, digest, T + 1000n * MS);
  cache.close();
  assert.deepEqual(warnings, []);

  // Another format version: dropped at open.
  const db = openSqlite(join(where, 'digests.sqlite'));
  db.exec('PRAGMA user_version = 999');
  db.close();
  const reopened = await cacheAt(clock, where);
  assert.equal(reopened.cache.lookupSmall(dir, 'f', state(), params), undefined);
  reopened.cache.close();
});

test('a cache directory that cannot be made is a warning, not a failure', async () => {
  const where = await tempDir();
  await writeFile(join(where, 'file'), '');
  const warnings: string[] = [];
  assert.equal(DigestCache.open(join(where, 'file', 'cache'), (w) => warnings.push(w)), undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /the digest cache in .* cannot be used \(.*\); comparing without it/);
});

test('files written wait for their confirmation in bounded numbers: the settled ones are confirmed on the way', async () => {
  const where = await tempDir();
  const clock = { now: T + 10_000n * MS };
  const states = new Map<string, FileState>();
  const cache = DigestCache.open(where, () => {}, () => clock.now, (path) => states.get(path));
  assert.ok(cache);
  for (let i = 0; i < 10_000; i++) {
    const path = `/x/${i}`;
    const written = state({ ino: BigInt(1000 + i) });
    states.set(path, written);
    cache.recordSmall(dir, `f${i}`, written, params, digest, clock.now, { path });
  }
  assert.ok(cache.unconfirmed < 4096, `${cache.unconfirmed} still waiting`);
  cache.confirmWritten();
  assert.equal(cache.unconfirmed, 0);
  assert.deepEqual(cache.lookupSmall(dir, 'f9999', state({ ino: 10_999n }), params), digest);
  cache.close();
});

test('the records held in memory stay bounded by rows, not directories, and nothing recorded is lost', async () => {
  const clock = { now: T + 10_000n * MS };
  const { cache } = await cacheAt(clock);
  // 200 directories of 500 files: 100,000 rows, far more than are held.
  const safe = T + 1000n * MS;
  let most = 0;
  for (let d = 0; d < 200; d++) {
    for (let f = 0; f < 500; f++) cache.recordSmall({ dev: 1n, ino: BigInt(10_000 + d) }, `f${f}`, state({ ino: BigInt(d * 1000 + f) }), params, digest, safe);
    most = Math.max(most, cache.rowsHeld);
  }
  assert.ok(most <= 16_384 + 500, `${most} rows held at most`);
  for (const d of [0, 99, 199]) {
    assert.deepEqual(cache.lookupSmall({ dev: 1n, ino: BigInt(10_000 + d) }, 'f499', state({ ino: BigInt(d * 1000 + 499) }), params), digest);
  }
  cache.close();
});
