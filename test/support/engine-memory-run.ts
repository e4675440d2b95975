/**
 * Runs the engine over a generated source tree of many entries into a destination that keeps
 * nothing, in a process of its own started with a small heap (see the memory-bound test). With
 * `--hold`, it also keeps every source entry, as an engine that built a manifest would: the
 * control that shows the heap limit would catch that.
 *
 *   node engine-memory-run.js <files> [--hold]
 */
import type { Entry, ParecoError } from '../../protocol/index.js';
import { ByteWindow } from '../../src/client/byte-window.js';
import { runEngine } from '../../src/client/engine.js';
import { emptySummary } from '../../src/client/sync-report.js';
import { loadDigest } from '../../src/digest/registry.js';
import { RangeDigest } from '../../src/digest/range-digest.js';
import { PathFilter } from '../../src/fs/filter.js';
import type { ChunkData, DigestList, SmallFile, Tree } from '../../src/fs/tree.js';
import { Cancellation } from '../../src/transport/cancellation.js';

const files = Number(process.argv[2]);
const hold = process.argv.includes('--hold');
const PER_DIR = 1000;
const range = new RangeDigest(await loadDigest('xxh64'), 8192);
const held: Entry[] = [];

const pad = (n: number) => String(n).padStart(7, '0');

/** A source of `files` small files, 1,000 per directory, listed lazily in canonical order. */
class GeneratedTree implements Tree {
  async *list(): AsyncIterable<Entry[]> {
    yield [{ path: '', kind: 'd', size: 0, mtime: 1, mode: 0o755 }];
    for (let dir = 0; dir * PER_DIR < files; dir++) {
      const batch: Entry[] = [{ path: `dir${pad(dir)}`, kind: 'd', size: 0, mtime: 1, mode: 0o755 }];
      for (let i = dir * PER_DIR; i < Math.min(files, (dir + 1) * PER_DIR); i++) {
        batch.push({ path: `dir${pad(dir)}/file-with-a-name-of-some-length-${pad(i)}.dat`, kind: 'f', size: 16, mtime: 1_700_000_000_000, mode: 0o644 });
      }
      if (hold) held.push(...batch);
      yield batch;
    }
  }
  async readMany(asked: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]> {
    return asked.map(({ size }) => {
      const data = Buffer.alloc(size, 1);
      return { data, digest: range.of(data), size, mtime: 1_700_000_000_000 };
    });
  }
  digests(): Promise<DigestList> { throw new Error('not used'); }
  blockDigests(): Promise<Buffer> { throw new Error('not used'); }
  read(): Promise<ChunkData> { throw new Error('not used'); }
  begin(): Promise<void> { throw new Error('not used'); }
  write(): Promise<void> { throw new Error('not used'); }
  putMany(_files: SmallFile[]): Promise<(ParecoError | undefined)[]> { throw new Error('not used'); }
  commit(): Promise<void> { throw new Error('not used'); }
  setMeta(): Promise<void> { throw new Error('not used'); }
  mkdir(): Promise<void> { throw new Error('not used'); }
  symlink(): Promise<void> { throw new Error('not used'); }
  remove(): Promise<void> { throw new Error('not used'); }
  removePartial(): Promise<void> { throw new Error('not used'); }
  async close(): Promise<void> {}
}

/** A destination that starts empty, takes everything and keeps nothing. */
class NullTree extends GeneratedTree {
  override async *list(): AsyncIterable<Entry[]> {
    yield [{ path: '', kind: 'd', size: 0, mtime: 1, mode: 0o755 }];
  }
  override async putMany(put: SmallFile[]): Promise<(ParecoError | undefined)[]> {
    await new Promise((resolve) => setImmediate(resolve));
    return put.map(() => undefined);
  }
  override async mkdir(): Promise<void> {}
  override async setMeta(): Promise<void> {}
}

const summary = emptySummary();
await runEngine(
  {
    source: new GeneratedTree(),
    dest: new NullTree(),
    chunk: 1024 * 1024,
    range,
    skipDigest: false,
    inplace: false,
    dryRun: false,
    filter: await PathFilter.create(),
    deletion: { enabled: true },
    window: new ByteWindow(32 * 1024 * 1024),
    compares: new ByteWindow(256),
    summary,
    emit: () => {},
    reportUnchanged: false,
    cancellation: new Cancellation(),
    unreported: { files: 0, bytes: 0 },
  },
  { source: {}, dest: {} },
);
process.stdout.write(`${JSON.stringify({ transferred: summary.filesTransferred, held: held.length, heapUsed: process.memoryUsage().heapUsed })}\n`);
