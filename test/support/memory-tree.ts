import { comparePaths, ErrorCode, ParecoError, type Entry } from '../../protocol/index.js';
import type { RangeDigest } from '../../src/digest/range-digest.js';
import type { ChunkData, DigestList, ListOptions, Meta, SmallFile, Tree } from '../../src/fs/tree.js';

/** One entry of a MemoryTree: its listing entry, and a file's bytes. */
interface Node {
  entry: Entry;
  data?: Buffer;
}

/**
 * A Tree held in memory, for unit tests of the engine: it lists in canonical order, hashes and
 * reads its files, and records every change made to it (`log`), so that a test can check what
 * a sync did and in which order, without a file system or a server.
 */
export class MemoryTree implements Tree {
  readonly nodes = new Map<string, Node>();
  /** Every change, in the order it was made: `mkdir a`, `put a/b`, `meta a`, `delete x`… */
  readonly log: string[] = [];
  readonly #range: RangeDigest;
  readonly #chunk: number;
  readonly #open = new Map<string, Buffer>();

  constructor(range: RangeDigest, chunk: number) {
    this.#range = range;
    this.#chunk = chunk;
    this.nodes.set('', { entry: { path: '', kind: 'd', size: 0, mtime: 1_000, mode: 0o755 } });
  }

  addDir(path: string, meta: Partial<Meta> = {}): this {
    this.nodes.set(path, { entry: { path, kind: 'd', size: 0, mtime: meta.mtime ?? 1_000, mode: meta.mode ?? 0o755 } });
    return this;
  }

  addFile(path: string, data: Buffer | string, meta: Partial<Meta> = {}): this {
    const bytes = Buffer.from(data);
    this.nodes.set(path, { entry: { path, kind: 'f', size: bytes.length, mtime: meta.mtime ?? 2_000, mode: meta.mode ?? 0o644 }, data: bytes });
    return this;
  }

  addLink(path: string, target: string): this {
    this.nodes.set(path, { entry: { path, kind: 'l', size: 0, mtime: 3_000, mode: 0o777, target } });
    return this;
  }

  async *list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    const entries = [...this.nodes.values()].map((node) => {
      const entry = { ...node.entry };
      if (options.digests && entry.kind === 'f' && entry.size <= this.#chunk) entry.digest = this.#range.of(node.data!);
      return entry;
    });
    entries.sort((a, b) => comparePaths(a.path, b.path));
    // Uneven batches, so that the merge crosses batch boundaries at different places on each side.
    for (let i = 0; i < entries.length; i += 3) yield entries.slice(i, i + 3);
  }

  async digests(path: string, from: number, count: number): Promise<DigestList> {
    const data = this.#file(path);
    const digests: Buffer[] = [];
    for (let i = from; i < from + count && i * this.#chunk < data.length; i++) digests.push(this.#range.of(data.subarray(i * this.#chunk, (i + 1) * this.#chunk)));
    return { size: data.length, partial: false, digests };
  }

  async blockDigests(path: string, index: number): Promise<Buffer> {
    return this.#range.blocks(this.#file(path).subarray(index * this.#chunk, (index + 1) * this.#chunk));
  }

  async read(path: string, offset: number, length: number): Promise<ChunkData> {
    const node = this.nodes.get(path)!;
    const data = Buffer.from(this.#file(path).subarray(offset, offset + length));
    return { data, digest: this.#range.of(data), size: node.entry.size, mtime: node.entry.mtime };
  }

  async readMany(files: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]> {
    return Promise.all(files.map((file) => this.read(file.path, 0, file.size).catch((error: unknown) => error as ParecoError)));
  }

  async begin(path: string, size: number): Promise<void> {
    const old = this.nodes.get(path)?.data ?? Buffer.alloc(0);
    const data = Buffer.alloc(size);
    old.copy(data, 0, 0, Math.min(size, old.length));
    this.#open.set(path, data);
  }

  async write(path: string, offset: number, size: number, data: Buffer, digest: Buffer): Promise<void> {
    if (!this.#range.of(data).equals(digest)) throw new ParecoError(ErrorCode.DIGEST_MISMATCH, `${path}: digest`);
    this.#parentMustExist(path);
    if (!this.#open.has(path)) await this.begin(path, size);
    data.copy(this.#open.get(path)!, offset);
    this.log.push(`write ${path} ${offset}+${data.length}`);
  }

  async putMany(files: SmallFile[]): Promise<(ParecoError | undefined)[]> {
    return files.map((file) => {
      this.#parentMustExist(file.path);
      this.nodes.set(file.path, { entry: { path: file.path, kind: 'f', size: file.data.length, ...file.meta }, data: Buffer.from(file.data) });
      this.log.push(`put ${file.path}`);
      return undefined;
    });
  }

  async commit(path: string, size: number, meta: Meta): Promise<void> {
    const data = this.#open.get(path)!.subarray(0, size);
    this.#open.delete(path);
    this.nodes.set(path, { entry: { path, kind: 'f', size, ...meta }, data });
    this.log.push(`commit ${path}`);
  }

  async setMeta(path: string, meta: Meta): Promise<void> {
    const node = this.nodes.get(path)!;
    node.entry = { ...node.entry, mtime: meta.mtime, ...(node.entry.kind === 'l' ? {} : { mode: meta.mode }) };
    this.log.push(`meta ${path}`);
  }

  async mkdir(path: string): Promise<void> {
    this.#parentMustExist(path);
    if (this.nodes.get(path)?.entry.kind !== 'd') this.nodes.set(path, { entry: { path, kind: 'd', size: 0, mtime: Date.now(), mode: 0o755 } });
    this.log.push(`mkdir ${path}`);
  }

  async symlink(path: string, target: string, mtime: number): Promise<void> {
    this.#parentMustExist(path);
    this.nodes.set(path, { entry: { path, kind: 'l', size: 0, mtime, mode: 0o777, target } });
    this.log.push(`symlink ${path}`);
  }

  async remove(path: string, recursive: boolean): Promise<void> {
    const inside = [...this.nodes.keys()].filter((p) => p.startsWith(`${path}/`));
    if (inside.length > 0 && !recursive) throw new ParecoError(ErrorCode.NOT_EMPTY, `${path}: directory not empty`);
    for (const p of [path, ...inside]) this.nodes.delete(p);
    this.log.push(`delete ${path}`);
  }

  async removePartial(path: string): Promise<void> {
    this.log.push(`delete-partial ${path}`);
  }

  async close(): Promise<void> {}

  #file(path: string): Buffer {
    const node = this.nodes.get(path);
    if (node?.data === undefined) throw new ParecoError(ErrorCode.NOT_FOUND, `${path}: no such file`);
    return node.data;
  }

  /** As the real destination does, creates the missing directories on the way (logged as `mkdir -p`). */
  #parentMustExist(path: string): void {
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const node = this.nodes.get(parent);
    if (node === undefined) {
      this.#parentMustExist(parent);
      this.nodes.set(parent, { entry: { path: parent, kind: 'd', size: 0, mtime: Date.now(), mode: 0o755 } });
      this.log.push(`mkdir -p ${parent}`);
    } else if (node.entry.kind !== 'd') {
      throw new ParecoError(ErrorCode.NOT_FOUND, `${path}: ${parent} is not a directory`);
    }
  }
}
