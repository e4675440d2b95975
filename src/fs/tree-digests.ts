import { closeSync, fstatSync, lstatSync, openSync, constants, type BigIntStats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ErrorCode, fsPath, ParecoError } from '../../protocol/index.js';
import type { RangeDigest } from '../digest/range-digest.js';
import { BlockDigestCache } from './block-digest-cache.js';
import { fileStateAt, MAX_BLOCKS_BYTES, nowNs, stateOf, type DigestCache, type DigestParams, type DirId, type FileDigests, type FileState } from './digest-cache.js';
import { readAt, readStartSync } from './positional-io.js';

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Directory identities kept (a listing needs the current path's; writes go all over the tree). */
const DIRECTORIES_REMEMBERED = 4096;
/** Files compared whose size is remembered for a write that may follow (the engine has at most 4,096 entries in flight). */
const BASES_REMEMBERED = 16_384;
/** Big files whose digests are being gathered at once. */
const GATHERINGS_HELD = 256;

/** The digests of a big file hashed batch by batch, gathered to be recorded once all are known. */
interface Gathering {
  state: FileState;
  verifiedNs: bigint;
  chunks: (Buffer | undefined)[];
  /** Kept only while a file's block digests fit what the cache keeps of them. */
  blocks: (Buffer | undefined)[] | undefined;
  missing: number;
}

export interface TreeDigestsOptions {
  range: RangeDigest;
  chunk: number;
  /** The persistent cache (none: every file is read to be compared). */
  cache?: DigestCache;
  params: DigestParams;
  /** True once the user interrupted: hashing a huge file stops between chunks. */
  cancelled?: () => boolean;
}

/**
 * The digests of one tree's files, as cheaply as they can be had: from the persistent cache
 * when the file's identity and state did not change (no read at all), else read and hashed, and
 * then recorded. Block digests of a chunk are kept in memory from the hashing (or the cache) for
 * the comparison that may follow. On a destination it also follows what is written, so that a
 * file it wrote is recorded with the digests of what it now holds: the next sync reads nothing
 * there.
 */
export class TreeDigests {
  readonly #options: TreeDigestsOptions;
  readonly #blocks = new BlockDigestCache();
  readonly #gathering = new Map<string, Gathering>();
  /** Identities of directories lately listed or written into, by absolute path. */
  readonly #directories = new Map<string, DirId>();
  /** For files being written: the blocks written to each touched chunk, and that chunk's blocks before. */
  readonly #writing = new Map<string, { basisSize: number | undefined; written: Map<number, (Buffer | undefined)[]>; before: Map<number, Buffer | undefined> }>();
  /**
   * The size of the file each path's digests were taken from (the basis of a write), for the
   * files compared lately: bounded, as a tree of millions of files is compared one by one (a
   * file forgotten here is only not recorded after it is written).
   */
  readonly #basisSize = new Map<string, number>();
  /** Files and bytes of this tree whose digests came from the cache. */
  readonly hits = { files: 0, bytes: 0 };

  constructor(options: TreeDigestsOptions) {
    this.#options = options;
  }

  /** Digests of chunks `from`..`from+count-1` of `file` (the file or partial file of `path`). */
  async digests(path: string, file: string, from: number, count: number): Promise<{ size: number; digests: Buffer[] }> {
    const cached = this.#fromCache(path, file, { from, count });
    if (cached !== undefined) return { size: cached.size, digests: sliceDigests(cached.digests.chunks, this.#options.range.size, from, count) };
    return this.#hash(path, file, from, count);
  }

  /** Block digests of chunk `index` of `path`, if kept from the comparison. */
  knownBlocks(path: string, index: number): Buffer | undefined {
    return this.#blocks.get(path, index);
  }

  /** Block digests of chunk `index` of `file`: kept from the comparison, cached, or read. */
  async blockDigests(path: string, file: string, index: number): Promise<Buffer> {
    const known = this.#blocks.get(path, index);
    if (known !== undefined) return known;
    const cached = this.#fromCache(path, file);
    const blocks = cached === undefined ? undefined : this.#blocks.get(path, index);
    if (blocks !== undefined) return blocks;
    const { chunk, range } = this.#options;
    const fd = openSync(fsPath(file), READ_NOFOLLOW);
    try {
      return range.blocks(await readAt(fd, Buffer.allocUnsafe(chunk), index * chunk, chunk));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A directory being listed: its identity (the small files in it are cached together), and the
   * names in it now (cached digests of files no longer there are dropped).
   */
  directory(absolute: string, st: BigIntStats, names: readonly string[]): void {
    const id = { dev: st.dev, ino: st.ino };
    this.#rememberDirectory(absolute, id);
    this.#options.cache?.directoryListed(id, this.#options.params, new Set(names));
  }

  /**
   * The range digest of a small file (at most one chunk) being listed, whose lstat the listing
   * made: from the cache, else, with `read`, read into `buffer` and hashed. Undefined when not
   * cached (without `read`) or unreadable.
   */
  listedFile(file: string, st: BigIntStats, read: boolean, buffer: Buffer): Buffer | undefined {
    return this.#smallFromCache(file, stateOf(st)) ?? (read ? this.#readSmall(file, buffer) : undefined);
  }

  /** The range digest of a whole small file: cached, or read into `buffer` and hashed; undefined when it cannot be read. */
  smallFileDigest(file: string, buffer: Buffer): Buffer | undefined {
    const state = fileStateAt(file);
    return (state === undefined ? undefined : this.#smallFromCache(file, state)) ?? this.#readSmall(file, buffer);
  }

  /**
   * A chunk read (to be sent) from `file`, in `state` before and after the read that began at
   * `readAt`, with the digests of its blocks: a whole chunk is gathered, and once every chunk of
   * the file was read in the same state, the file's digests are recorded (a copy of a new big
   * file then costs the next sync no read of it).
   */
  readChunk(path: string, file: string, offset: number, blocks: Buffer, state: FileState, readAt: bigint): void {
    const { chunk, range } = this.#options;
    const size = Number(state.size);
    const length = Math.min(chunk, size - offset);
    if (offset % chunk !== 0 || length <= 0 || blocks.length !== Math.ceil(length / range.block) * range.size) return;
    const gathering = this.#gatheringFor(path, state, readAt);
    if (gathering === undefined) return;
    // The earliest read of the file in this state is when its digests became known.
    if (readAt < gathering.verifiedNs) gathering.verifiedNs = readAt;
    this.#gathered(path, file, gathering, offset / chunk, range.combine(blocks), blocks);
  }

  /**
   * A small file read whole (to be sent) whose digest is `digest`, in `state` just after the
   * read that began at `readAt`: recorded (a change during the read leaves its mtime or ctime
   * after `readAt`, which the cache does not trust).
   */
  readWhole(file: string, state: FileState, digest: Buffer, readAt: bigint): void {
    this.#record(file, state, { chunks: digest, blocks: undefined }, readAt);
  }

  #readSmall(file: string, buffer: Buffer): Buffer | undefined {
    try {
      const verifiedNs = nowNs();
      const fd = openSync(fsPath(file), READ_NOFOLLOW);
      try {
        const before = fstatSync(fd, { bigint: true });
        const data = readStartSync(fd, buffer);
        const digest = this.#options.range.of(data);
        if (BigInt(data.length) === before.size) this.#record(file, stateOf(before), { chunks: digest, blocks: undefined }, verifiedNs);
        return digest;
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** A write of `blocks` (digests of the run at `offset`) into the file of `path` being written. */
  wrote(path: string, offset: number, blocks: Buffer): void {
    const { chunk, range } = this.#options;
    let writing = this.#writing.get(path);
    if (writing === undefined) this.#writing.set(path, (writing = { basisSize: this.#basisSize.get(path), written: new Map(), before: new Map() }));
    const index = Math.floor(offset / chunk);
    let list = writing.written.get(index);
    if (list === undefined) {
      // The chunk as it was before its first write, from the comparison (if known), for its other blocks.
      writing.before.set(index, this.#blocks.get(path, index));
      writing.written.set(index, (list = []));
    }
    const first = (offset % chunk) / range.block;
    for (let b = 0; b * range.size < blocks.length; b++) list[first + b] = blocks.subarray(b * range.size, (b + 1) * range.size);
    this.#blocks.forgetChunk(path, index);
  }

  /**
   * A file written whole (a small file put in place): recorded with the digests of its data,
   * as it is now at `target`.
   */
  put(path: string, target: string, blocks: Buffer): void {
    this.forget(path);
    const state = this.#options.cache === undefined ? undefined : fileStateAt(target);
    if (state !== undefined) this.#record(target, state, { chunks: this.#options.range.combine(blocks), blocks }, nowNs(), { path: target });
  }

  /**
   * A file committed at `target` with its final `size`: recorded when the digests of every
   * block it now holds are known (written this session, or unchanged since the comparison).
   */
  committed(path: string, target: string, size: number): void {
    const digests = this.#assemble(path, size);
    this.forget(path);
    const state = digests === undefined ? undefined : fileStateAt(target);
    if (digests === undefined || state === undefined || state.size !== BigInt(size)) return;
    this.#record(target, state, digests, nowNs(), { path: target });
  }

  /** Forgets what is known of a path (it was replaced or removed). */
  forget(path: string): void {
    this.#blocks.forget(path);
    this.#writing.delete(path);
    this.#basisSize.delete(path);
    this.#gathering.delete(path);
  }

  /**
   * Confirms the entries of the files written meanwhile (see DigestCache.confirmWritten); with
   * `patient`, first waits (a fraction of a second) until the last written can be confirmed too,
   * rather than leave it to be read again next time.
   */
  async finish(patient: boolean): Promise<void> {
    const { cache } = this.#options;
    if (cache === undefined) return;
    const wait = patient ? cache.unsettledMs() : 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    cache.confirmWritten();
  }

  /** The cached digests of `file`, keeping its block digests for the comparison to come. */
  #fromCache(path: string, file: string, batch?: { from: number; count: number }): { size: number; digests: FileDigests } | undefined {
    const { cache, params, chunk, range } = this.#options;
    const state = cache === undefined ? undefined : fileStateAt(file);
    if (state === undefined) return undefined;
    const size = Number(state.size);
    let digests: FileDigests | undefined;
    if (size <= chunk) {
      const digest = this.#smallFromCache(file, state);
      digests = digest === undefined ? undefined : { chunks: digest, blocks: undefined };
    } else {
      digests = cache!.lookup(state, params);
      // A big file is asked for in several batches: the file counts once, each batch its bytes.
      if (digests !== undefined && batch !== undefined) {
        const bytes = Math.max(0, Math.min(size, (batch.from + batch.count) * chunk) - batch.from * chunk);
        this.#hit(bytes, batch.from === 0 ? 1 : 0);
      }
    }
    if (digests === undefined) return undefined;
    if (digests.blocks !== undefined) {
      const perChunk = (chunk / range.block) * range.size;
      for (let i = 0; i * perChunk < digests.blocks.length; i++) this.#blocks.set(path, i, digests.blocks.subarray(i * perChunk, (i + 1) * perChunk));
    }
    this.#rememberBasis(path, size);
    return { size, digests };
  }

  /** The cached digest of a small file (in its directory's record). */
  #smallFromCache(file: string, state: FileState): Buffer | undefined {
    const { cache, params, chunk } = this.#options;
    if (cache === undefined || state.size === 0n || state.size > BigInt(chunk)) return undefined;
    const dir = this.#directoryOf(file);
    const digest = dir === undefined ? undefined : cache.lookupSmall(dir, basename(file), state, params);
    if (digest !== undefined) this.#hit(Number(state.size));
    return digest;
  }

  #hit(bytes: number, files = 1): void {
    this.hits.files += files;
    this.hits.bytes += bytes;
  }

  /** The identity of the directory holding `file` (remembered from the listing, else looked up). */
  #directoryOf(file: string): DirId | undefined {
    const dir = dirname(file);
    const known = this.#directories.get(dir);
    if (known !== undefined) return known;
    const st = lstatSync(fsPath(dir), { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return undefined;
    const id = { dev: st.dev, ino: st.ino };
    this.#rememberDirectory(dir, id);
    return id;
  }

  #rememberBasis(path: string, size: number): void {
    this.#basisSize.delete(path);
    this.#basisSize.set(path, size);
    if (this.#basisSize.size > BASES_REMEMBERED) this.#basisSize.delete(this.#basisSize.keys().next().value!);
  }

  #rememberDirectory(dir: string, id: DirId): void {
    this.#directories.delete(dir);
    this.#directories.set(dir, id);
    if (this.#directories.size > DIRECTORIES_REMEMBERED) this.#directories.delete(this.#directories.keys().next().value!);
  }

  /** Reads and hashes chunks, gathering them so that a file hashed whole is recorded. */
  async #hash(path: string, file: string, from: number, count: number): Promise<{ size: number; digests: Buffer[] }> {
    const { chunk, range, cancelled } = this.#options;
    const verifiedNs = nowNs();
    const fd = openSync(fsPath(file), READ_NOFOLLOW);
    try {
      const st = fstatSync(fd, { bigint: true });
      const size = Number(st.size);
      this.#rememberBasis(path, size);
      const gathering = this.#gatheringFor(path, stateOf(st), verifiedNs);
      const digests: Buffer[] = [];
      const buffer = Buffer.allocUnsafe(Math.min(chunk, Math.max(size - from * chunk, 0)));
      for (let i = from; i < from + count && i * chunk < size; i++) {
        if (cancelled?.()) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
        const blocks = range.blocks(await readAt(fd, buffer, i * chunk, Math.min(chunk, size - i * chunk)));
        this.#blocks.set(path, i, blocks);
        const digest = range.combine(blocks);
        digests.push(digest);
        // Read through the handle: the file is recorded as it was when the reading began.
        if (gathering !== undefined) this.#gathered(path, file, gathering, i, digest, blocks);
      }
      return { size, digests };
    } finally {
      closeSync(fd);
    }
  }

  /** Adds chunk `index`'s digests to a gathering; records the file once it has them all. */
  #gathered(path: string, file: string, gathering: Gathering, index: number, digest: Buffer, blocks: Buffer): void {
    if (gathering.chunks[index] !== undefined) return;
    gathering.chunks[index] = digest;
    if (gathering.blocks !== undefined) gathering.blocks[index] = blocks;
    if (--gathering.missing > 0) return;
    this.#gathering.delete(path);
    const allBlocks = gathering.blocks === undefined ? undefined : Buffer.concat(gathering.blocks as Buffer[]);
    this.#record(file, gathering.state, { chunks: Buffer.concat(gathering.chunks as Buffer[]), blocks: allBlocks }, gathering.verifiedNs);
  }

  /** The digests gathered so far for a file in this state (a new gathering when it changed). */
  #gatheringFor(path: string, state: FileState, verifiedNs: bigint): Gathering | undefined {
    if (this.#options.cache === undefined) return undefined;
    const known = this.#gathering.get(path);
    if (known !== undefined && sameState(known.state, state)) return known;
    const { chunk, range } = this.#options;
    const count = Math.ceil(Number(state.size) / chunk);
    const blocksBytes = Math.ceil(Number(state.size) / range.block) * range.size;
    const blocks = blocksBytes <= MAX_BLOCKS_BYTES ? new Array<Buffer | undefined>(count) : undefined;
    const gathering: Gathering = { state, verifiedNs, chunks: new Array(count), blocks, missing: count };
    this.#gathering.set(path, gathering);
    // Files read only in part (a few chunks of a changed file) are never complete: the oldest go.
    if (this.#gathering.size > GATHERINGS_HELD) this.#gathering.delete(this.#gathering.keys().next().value!);
    return gathering;
  }

  /**
   * Records the digests of `file` in `state`: a small file's in its directory's record (an
   * empty file's are not worth a row), a big one's in a row of its own.
   */
  #record(file: string, state: FileState, digests: FileDigests, verifiedNs: bigint, written?: { path: string }): void {
    const { cache, params, chunk, range } = this.#options;
    if (cache === undefined) return;
    if (state.size > BigInt(chunk)) {
      cache.record(state, params, digests, verifiedNs, written);
      return;
    }
    const dir = state.size === 0n || digests.chunks.length !== range.size ? undefined : this.#directoryOf(file);
    if (dir !== undefined) cache.recordSmall(dir, basename(file), state, params, digests.chunks, verifiedNs, written);
  }

  /**
   * The digests of a file written this session with its final size, or undefined when a block
   * is unknown: each block comes from a write, or from the comparison's digests of the file it
   * started from (when that block has the same extent there: a file cut or grown in the middle of
   * a block has a different last block).
   */
  #assemble(path: string, size: number): FileDigests | undefined {
    const { chunk, range } = this.#options;
    const writing = this.#writing.get(path);
    const basisSize = writing?.basisSize ?? this.#basisSize.get(path);
    const chunks: Buffer[] = [];
    const all: Buffer[] = [];
    for (let i = 0; i * chunk < size; i++) {
      const length = Math.min(chunk, size - i * chunk);
      const written = writing?.written.get(i);
      const basis = writing?.before.has(i) ? writing.before.get(i) : this.#blocks.get(path, i);
      const blocks: Buffer[] = [];
      for (let b = 0; b * range.block < length; b++) {
        let digest = written?.[b];
        if (digest === undefined) {
          // Unchanged since the comparison: usable if the block has the same extent there.
          const start = i * chunk + b * range.block;
          const sameExtent = basisSize !== undefined && Math.min(start + range.block, basisSize) === Math.min(start + range.block, size);
          digest = sameExtent ? basis?.subarray(b * range.size, (b + 1) * range.size) : undefined;
        }
        if (digest === undefined || digest.length !== range.size) return undefined;
        blocks.push(digest);
      }
      const chunkBlocks = Buffer.concat(blocks);
      all.push(chunkBlocks);
      chunks.push(range.combine(chunkBlocks));
    }
    return { chunks: Buffer.concat(chunks), blocks: Buffer.concat(all) };
  }
}

/** Chunk digests `from`..`from+count-1` out of a file's digests laid end to end. */
function sliceDigests(chunks: Buffer, size: number, from: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < from + count && (i + 1) * size <= chunks.length; i++) out.push(chunks.subarray(i * size, (i + 1) * size));
  return out;
}

/** Two lstats of a file that did not change in between. */
export function sameFileState(a: BigIntStats, b: BigIntStats): boolean {
  return sameState(stateOf(a), stateOf(b));
}

function sameState(a: FileState, b: FileState): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}
