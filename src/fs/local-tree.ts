import { closeSync, constants, fstatSync, lstatSync, openSync, type BigIntStats } from 'node:fs';
import { lstat, lutimes, mkdir, rm, rmdir, symlink, unlink, chmod, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, fsPath, LIMITS, ParecoError, toParecoError, type Entry, type HashName } from '../../protocol/index.js';
import type { Digest } from '../digest/registry.js';
import { nowNs, stateOf, type DigestCache } from './digest-cache.js';
import { sameFileState, TreeDigests } from './tree-digests.js';
import { RangeDigest } from '../digest/range-digest.js';
import { BufferPool, releasedAfter } from './buffer-pool.js';
import { ConfinedRoot } from './confined-root.js';
import { FileWriter, mtimeSeconds, partialPathOf } from './file-writer.js';
import type { PathFilter } from './filter.js';
import { readAt, readStartSync } from './positional-io.js';
import { entryOf, msOfNs, scanTree, type ScanOptions } from './scan.js';
import { WritableDirs } from './writable-dirs.js';
import type { ChunkData, DigestList, ListOptions, Meta, SmallFile, Tree } from './tree.js';

export interface LocalTreeOptions {
  /** Absolute, real path of the tree's root directory. */
  root: string;
  /** A source is never written to; a destination is. */
  role: 'source' | 'destination';
  chunk: number;
  /** Block size for comparisons inside a chunk; divides `chunk`. */
  block: number;
  digest: Digest;
  filter: PathFilter;
  inplace?: boolean;
  /** Flush data and directory entries before each rename. */
  fsync?: boolean;
  /** A destination in a dry run: listed and hashed as one, but every change is refused. */
  dryRun?: boolean;
  /** Entries per listing batch. */
  listBatch?: number;
  /** True once the user interrupted (client side): hashing a huge file stops between chunks. */
  cancelled?: () => boolean;
  /** The hash's name, which digests in the cache are kept under. */
  hash: HashName;
  /** The persistent digest cache; none: files are read to be compared. */
  cache?: DigestCache;
  /**
   * Closing waits, at most a fraction of a second, until the digests of the files written last
   * can be confirmed too (see DigestCache.confirmWritten); else they are read again next time.
   */
  patientClose?: boolean;
}

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
/** A batch of small files a client sends (1 MiB) and the file that tipped it over (one chunk at most). */
const BATCH_BUFFER = 2 * 1024 * 1024;

/** A tree on this machine's file system: what the server serves, and the client's local side. */
export class LocalTree implements Tree {
  readonly root: ConfinedRoot;
  readonly #options: LocalTreeOptions;
  readonly #writer: FileWriter;
  readonly #range: RangeDigest;
  /** Digests of the tree's files: cached, or read and hashed (and, on a destination, of what it wrote). */
  readonly #digests: TreeDigests;
  /** Directories being created for the files that go into them, by absolute path. */
  readonly #creatingDirs = new Map<string, Promise<void>>();
  /** Begins under way, by path: a write waits for its file's. */
  readonly #beginning = new Map<string, Promise<void>>();
  readonly #pool: BufferPool;
  /** Buffers for batches of small files read at once (readMany). */
  readonly #batchPool: BufferPool;
  #scratchBuffer: Buffer | undefined;
  /** Read-only directories, opened for the changes made in them (like rsync). */
  readonly #dirs = new WritableDirs();

  constructor(options: LocalTreeOptions) {
    this.#options = options;
    this.root = new ConfinedRoot(options.root);
    this.#writer = new FileWriter({ inplace: options.inplace ?? false, fsync: options.fsync ?? false, dirs: this.#dirs });
    this.#range = new RangeDigest(options.digest, options.block);
    this.#pool = new BufferPool(options.chunk, 64);
    this.#batchPool = new BufferPool(BATCH_BUFFER, 16);
    this.#digests = new TreeDigests({
      range: this.#range,
      chunk: options.chunk,
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      params: { hash: options.hash, chunk: options.chunk, block: options.block },
      ...(options.cancelled === undefined ? {} : { cancelled: options.cancelled }),
    });
  }

  /** Files and bytes whose digests came from the cache. */
  get cacheHits(): { files: number; bytes: number } {
    return this.#digests.hits;
  }

  /**
   * The filtered listing in canonical order (see scanTree), starting with the root itself, whose
   * mode and mtime are synced like any directory's. A destination flags files that have a
   * partial file beside them (reused by the comparison, or stale and removed).
   */
  async *list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    const root: Entry[] = [];
    const digests = options.digests ?? false;
    try {
      const st = lstatSync(this.#options.root, { bigint: true });
      root.push({ path: '', kind: 'd', size: 0, mtime: msOfNs(st.mtimeNs), mode: Number(st.mode) & 0o7777 });
      const partials = this.#options.role === 'destination';
      const scan = scanTree(this.#options.root, this.#options.filter, {
        partials,
        batch: this.#options.listBatch ?? 1000,
        ...(digests === false ? {} : this.#digestHooks(digests === true)),
      });
      for await (const entries of scan) {
        // A partial file (what a comparison uses) is hashed here; files were, as they were listed.
        if (digests === true) for (const entry of entries) if (entry.kind === 'p' || entry.partial === true) this.#addDigest(entry);
        if (root.length > 0) entries.unshift(...root.splice(0));
        yield entries;
      }
    } catch (error) {
      throw toParecoError(error, '');
    }
    if (root.length > 0) yield root;
  }

  /**
   * What the listing tells the digests as it walks: directories (their small files are cached
   * together) and small files, listed with their digest when it is cached or, with `read`, read.
   * A file that cannot be read now is listed without: the comparison will say why.
   */
  #digestHooks(read: boolean): Pick<ScanOptions, 'onDirectory' | 'onFile'> {
    return {
      onDirectory: (absolute, st, names) => this.#digests.directory(absolute, st, names),
      onFile: (entry, absolute, st) => {
        if (entry.size > this.#options.chunk) return;
        const digest = this.#digests.listedFile(absolute, st, read, this.#scratch());
        if (digest !== undefined) entry.digest = digest;
      },
    };
  }

  /** Lists a small partial file (or a file with one) with the digest of the partial file, what a comparison uses. */
  #addDigest(entry: Entry): void {
    if (entry.size > this.#options.chunk) return;
    const { file } = this.#basis(entry.path, join(this.#options.root, entry.path));
    const digest = this.#digests.smallFileDigest(file, this.#scratch());
    if (digest !== undefined) entry.digest = digest;
  }

  /** A chunk-sized buffer for one synchronous read (reused: never kept). */
  #scratch(): Buffer {
    this.#scratchBuffer ??= Buffer.allocUnsafe(this.#options.chunk);
    return this.#scratchBuffer;
  }

  /** Reads a whole file of at most one chunk synchronously into `buffer` (a view of it is returned). */
  #readWhole(file: string, buffer: Buffer): Buffer {
    const fd = openSync(fsPath(file), READ_NOFOLLOW);
    try {
      return readStartSync(fd, buffer);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Whole small files read at once (readmany), into one buffer for all: each file's bytes, its
   * digest, and its size and mtime after the read (by path, to notice a file being written).
   * Each file is read up to the size it was listed with (at most a chunk).
   */
  async readMany(files: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]> {
    const sizes = files.map((file) => Math.min(file.size, this.#options.chunk));
    const needed = Math.min(LIMITS.maxBatchBytes, sizes.reduce((sum, size) => sum + size, 0));
    // A batch buffer from the pool (a fresh one per batch was most of a big copy's garbage),
    // back in the pool once every file's data is released.
    const pooled = needed <= this.#batchPool.size;
    const buffer = pooled ? this.#batchPool.take() : Buffer.allocUnsafe(needed);
    const release = pooled ? releasedAfter(files.length, () => this.#batchPool.give(buffer)) : undefined;
    let used = 0;
    const results: (ChunkData | ParecoError)[] = [];
    for (const [i, { path }] of files.entries()) {
      try {
        const absolute = await this.root.resolve(path);
        const room = buffer.subarray(used, used + Math.min(sizes[i]!, buffer.length - used));
        const started = nowNs();
        const data = this.#readWhole(absolute, room);
        used += data.length;
        const after = lstatSync(fsPath(absolute), { bigint: true });
        const digest = this.#range.of(data);
        // Read whole: what the next sync compares is known (if the file did not change meanwhile).
        if (after.size === BigInt(data.length)) this.#digests.readWhole(absolute, stateOf(after), digest, started);
        results.push({ data, digest, size: Number(after.size), mtime: msOfNs(after.mtimeNs), ...(release === undefined ? {} : { release }) });
      } catch (error) {
        release?.();
        results.push(toParecoError(error, path));
      }
    }
    return results;
  }

  /** The entry at `path` now, or null when it is gone (the `stat` request). */
  stat(path: string): Promise<Entry | null> {
    return this.#guard(path, async (absolute) => {
      const st = lstatSync(fsPath(absolute), { bigint: true, throwIfNoEntry: false });
      return st === undefined ? null : entryOf(absolute, path, st);
    });
  }

  digests(path: string, from: number, count: number): Promise<DigestList> {
    return this.#guard(path, async (absolute) => {
      const { file, partial } = this.#basis(path, absolute);
      const { size, digests } = await this.#digests.digests(path, file, from, count);
      return { size, partial, digests };
    });
  }

  async blockDigests(path: string, index: number): Promise<Buffer> {
    const known = this.#digests.knownBlocks(path, index);
    if (known !== undefined) return known;
    return this.#guard(path, async (absolute) => this.#digests.blockDigests(path, this.#basis(path, absolute).file, index));
  }

  /**
   * What a destination compares against: the partial file of an interrupted run, if any. A file
   * begun in this session as a copy of its target is compared against the target (the copy may
   * still be running: the begin starts as soon as the file is known to differ).
   */
  #basis(path: string, absolute: string): { file: string; partial: boolean } {
    if (this.#options.role === 'destination' && !this.#options.inplace && !this.#writer.startedFromTarget(path)) {
      const st = lstatSync(fsPath(partialPathOf(absolute)), { throwIfNoEntry: false });
      if (st?.isFile()) return { file: partialPathOf(absolute), partial: true };
    }
    return { file: absolute, partial: false };
  }

  read(path: string, offset: number, length: number): Promise<ChunkData> {
    return this.#guard(path, async (absolute) => {
      const pooled = length === this.#pool.size;
      const buffer = pooled ? this.#pool.take() : Buffer.allocUnsafe(length);
      const release = () => (pooled ? this.#pool.give(buffer) : undefined);
      try {
        const started = nowNs();
        const fd = openSync(fsPath(absolute), READ_NOFOLLOW);
        let data: Buffer;
        let before: BigIntStats;
        try {
          before = fstatSync(fd, { bigint: true });
          data = await readAt(fd, buffer, offset, length);
        } finally {
          closeSync(fd);
        }
        // By path, not by handle: a file replaced by a rename must count as changed too.
        const after = lstatSync(fsPath(absolute), { bigint: true });
        const blocks = this.#range.blocks(data);
        // A whole chunk of a file that did not change meanwhile: its digests are known for next time.
        if (sameFileState(before, after)) this.#digests.readChunk(path, absolute, offset, blocks, stateOf(after), started);
        return { data, digest: this.#range.combine(blocks), size: Number(after.size), mtime: msOfNs(after.mtimeNs), release };
      } catch (error) {
        release();
        throw error;
      }
    });
  }

  begin(path: string, size: number): Promise<void> {
    // The cached block digests stay valid: the partial file starts as the file they were
    // computed from (or is that partial file). Each write drops the chunk it changes. A new
    // size only cuts or extends the end, and a cut block never matches a whole one's digest.
    const begun = this.#mutate(path, (absolute) => this.#inParents(absolute, () => this.#writer.begin(path, absolute, size)));
    this.#beginning.set(path, begun);
    const settle = () => {
      if (this.#beginning.get(path) === begun) this.#beginning.delete(path);
    };
    begun.then(settle, settle);
    return begun;
  }

  /** Writes one run, beginning the file first if no begin came (a new file's writes carry its size). */
  write(path: string, offset: number, size: number, data: Buffer, digest: Buffer): Promise<void> {
    return this.#mutate(path, async () => {
      if (data.length > this.#options.chunk) {
        throw new ParecoError(ErrorCode.PROTOCOL, `${path}: chunk of ${data.length} bytes exceeds the session chunk size`);
      }
      const blocks = this.#verify(path, offset, data, digest);
      // A begin under way (maybe creating the directory first) is awaited, not raced.
      const beginning = this.#beginning.get(path);
      if (beginning !== undefined) await beginning;
      else if (!this.#writer.isOpen(path)) await this.begin(path, size);
      this.#digests.wrote(path, offset, blocks);
      await this.#writer.write(path, offset, data);
    }).catch((error: unknown) => {
      throw toParecoError(error, path);
    });
  }

  /**
   * New whole small files. Each is checked against its digest, written to a partial file and
   * renamed into place; their creations are all under way at once (they wait on the thread
   * pool; the writes are synchronous, see FileWriter.put).
   */
  putMany(files: SmallFile[]): Promise<(ParecoError | undefined)[]> {
    return Promise.all(
      files.map(({ path, data, digest, meta }) => {
        return this.#mutate(path, async (absolute) => {
          if (data.length > this.#options.chunk) {
            throw new ParecoError(ErrorCode.PROTOCOL, `${path}: ${data.length} bytes exceed the session chunk size`);
          }
          const blocks = this.#verify(path, 0, data, digest);
          await this.#inParents(absolute, () => this.#writer.put(path, absolute, data, meta));
          this.#digests.put(path, absolute, blocks);
        }).then(
          () => undefined,
          (error: unknown) => toParecoError(error, path),
        );
      }),
    );
  }

  /**
   * Runs `create`, which makes an entry at `absolute`; if its directory is missing, creates the
   * directories on the way first (all under the root: their parents were checked by resolve).
   * The client sends an entry's directory and the entry itself at once, on any lanes, rather
   * than wait a round trip for each new directory; whichever arrives first creates it.
   */
  async #inParents<T>(absolute: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(absolute);
      if (parent.length <= this.#options.root.length) throw error;
      await this.#createDirectory(parent);
      return create();
    }
  }

  /**
   * Creates a missing directory and its parents, once for all the files that found it missing
   * at the same time (a batch of a thousand new files in a new directory: one mkdir, not one each).
   */
  #createDirectory(dir: string): Promise<void> {
    let creating = this.#creatingDirs.get(dir);
    if (creating === undefined) {
      creating = this.#dirs.around(dir, () => mkdir(fsPath(dir), { recursive: true })).then(
        () => void this.#creatingDirs.delete(dir),
        (error: unknown) => {
          this.#creatingDirs.delete(dir);
          throw error;
        },
      );
      this.#creatingDirs.set(dir, creating);
    }
    return creating;
  }

  /** Checks data against its range digest; returns its block digests. */
  #verify(path: string, offset: number, data: Buffer, digest: Buffer): Buffer {
    const blocks = this.#range.blocks(data);
    if (!this.#range.combine(blocks).equals(digest)) {
      throw new ParecoError(ErrorCode.DIGEST_MISMATCH, `${path}: data at offset ${offset} does not match its digest`);
    }
    return blocks;
  }

  commit(path: string, size: number, meta: Meta): Promise<void> {
    return this.#mutate(path, async (absolute) => {
      await this.#writer.commit(path, absolute, size, meta);
      this.#digests.committed(path, absolute, size);
    });
  }

  /** Applies mode and mtime; the root's own too (it is synced like any directory). */
  setMeta(path: string, meta: Meta): Promise<void> {
    return this.#mutate(path, async (absolute) => {
      const st = await lstat(fsPath(absolute));
      if (st.isSymbolicLink()) {
        await lutimes(fsPath(absolute), new Date(), mtimeSeconds(meta.mtime));
        return;
      }
      if ((st.mode & 0o7777) !== meta.mode) await chmod(fsPath(absolute), meta.mode);
      await utimes(fsPath(absolute), new Date(), mtimeSeconds(meta.mtime));
    }, true);
  }

  mkdir(path: string): Promise<void> {
    return this.#mutate(path, async (absolute) => {
      await this.#inParents(absolute, () => this.#dirs.around(absolute, () => mkdir(fsPath(absolute)))).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST' || !(await lstat(fsPath(absolute))).isDirectory()) throw error;
      });
    });
  }

  symlink(path: string, target: string, mtime: number): Promise<void> {
    return this.#mutate(path, async (absolute) => {
      await this.#dirs.around(absolute, () => unlink(fsPath(absolute))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      this.root.forget();
      await this.#inParents(absolute, () => this.#dirs.around(absolute, () => symlink(fsPath(target), fsPath(absolute))));
      await lutimes(fsPath(absolute), new Date(), mtimeSeconds(mtime));
    });
  }

  remove(path: string, recursive: boolean): Promise<void> {
    this.#digests.forget(path);
    return this.#mutate(path, async (absolute) => {
      this.root.forget();
      // Already gone is fine: the request may be a retry whose first answer was lost.
      const st = await lstat(fsPath(absolute)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (st === undefined) return;
      if (!st.isDirectory()) await this.#dirs.around(absolute, () => unlink(fsPath(absolute)));
      else if (recursive) await this.#dirs.around(absolute, () => rm(fsPath(absolute), { recursive: true }));
      else await this.#dirs.around(absolute, () => rmdir(fsPath(absolute)));
    });
  }

  removePartial(path: string): Promise<void> {
    return this.#mutate(path, async (absolute) => {
      await this.#writer.closeFile(path);
      await this.#dirs.around(absolute, () => unlink(fsPath(partialPathOf(absolute)))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    });
  }

  /** Closes what is open (partial files stay) and confirms the digests of the files written. */
  async close(): Promise<void> {
    await this.#writer.closeAll();
    await this.#digests.finish(this.#options.patientClose ?? false);
  }

  async #guard<T>(path: string, action: (absolute: string) => Promise<T>): Promise<T> {
    try {
      return await action(await this.root.resolve(path));
    } catch (error) {
      throw toParecoError(error, path);
    }
  }

  /** Runs a change at `path`; only a destination changes, and the root only its metadata (`onRoot`). */
  #mutate<T>(path: string, action: (absolute: string) => Promise<T>, onRoot = false): Promise<T> {
    if (this.#options.role !== 'destination') {
      return Promise.reject(new ParecoError(ErrorCode.FORBIDDEN, `${path}: this side is the source and is never written`));
    }
    if (this.#options.dryRun) return Promise.reject(new ParecoError(ErrorCode.FORBIDDEN, `${path}: a dry run writes nothing`));
    if (path === '' && !onRoot) return Promise.reject(new ParecoError(ErrorCode.BAD_PATH, 'the root itself cannot be changed'));
    return this.#guard(path, action);
  }
}
