import type { Entry, ParecoError } from '../../protocol/index.js';
import type { ChunkData, DigestList, ListOptions, SmallFile, Tree } from '../fs/tree.js';

/**
 * The destination of a dry run: listed and hashed like the real one, so the comparison is
 * exactly that of a real run, while every change is accepted and dropped. Without a tree (the
 * destination directory does not exist yet) it is empty.
 */
export class DryRunTree implements Tree {
  readonly #inner: Tree | undefined;

  constructor(inner: Tree | undefined) {
    this.#inner = inner;
  }

  async *list(options?: ListOptions): AsyncIterable<Entry[]> {
    if (this.#inner !== undefined) yield* this.#inner.list(options);
  }

  digests(path: string, from: number, count: number): Promise<DigestList> {
    return this.#existing().digests(path, from, count);
  }

  blockDigests(path: string, index: number): Promise<Buffer> {
    return this.#existing().blockDigests(path, index);
  }

  read(path: string, offset: number, length: number): Promise<ChunkData> {
    return this.#existing().read(path, offset, length);
  }

  readMany(files: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]> {
    return this.#existing().readMany(files);
  }

  async putMany(files: SmallFile[]): Promise<(ParecoError | undefined)[]> {
    return files.map(() => undefined);
  }

  async begin(): Promise<void> {}
  async write(): Promise<void> {}
  async commit(): Promise<void> {}
  async setMeta(): Promise<void> {}
  async mkdir(): Promise<void> {}
  async symlink(): Promise<void> {}
  async remove(): Promise<void> {}
  async removePartial(): Promise<void> {}

  async close(): Promise<void> {
    await this.#inner?.close();
  }

  #existing(): Tree {
    // An empty tree lists nothing, so nothing is ever asked of it.
    if (this.#inner === undefined) throw new Error('dry run: the destination has no such file');
    return this.#inner;
  }
}
