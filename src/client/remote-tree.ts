import type { Entry } from '../../protocol/index.js';
import type { ChunkData, DigestList, Meta, Tree } from '../fs/tree.js';
import { DigestBatcher } from './digest-batcher.js';
import type { LanePool } from './lane-pool.js';

/** The server's side of a session, seen through the lanes as a Tree. */
export class RemoteTree implements Tree {
  readonly #pool: LanePool;
  readonly #batcher: DigestBatcher;

  constructor(pool: LanePool) {
    this.#pool = pool;
    this.#batcher = new DigestBatcher(pool);
  }

  async *list(): AsyncIterable<Entry[]> {
    for (let seq = 0; ; seq++) {
      const { entries, done } = await this.#pool.request({ t: 'list', seq }, 'entries');
      if (entries.length > 0) yield entries;
      if (done) return;
    }
  }

  async digests(path: string, from: number, count: number): Promise<DigestList> {
    if (from === 0 && count <= 1) return this.#batcher.digests(path, count);
    const { size, partial, digests } = await this.#pool.request({ t: 'hash', path, from, count }, 'hashes');
    return { size, partial, digests };
  }

  async blockDigests(path: string, index: number): Promise<Buffer> {
    return (await this.#pool.request({ t: 'blocks', path, index }, 'blocklist')).digests;
  }

  async read(path: string, offset: number, length: number): Promise<ChunkData> {
    const { data, digest, size, mtime } = await this.#pool.request({ t: 'read', path, offset, length }, 'data');
    return { data, digest, size, mtime };
  }

  async put(path: string, data: Buffer, digest: Buffer, meta: Meta): Promise<void> {
    await this.#pool.request({ t: 'put', path, data, digest, mtime: meta.mtime, mode: meta.mode }, 'ok');
  }

  async begin(path: string, size: number): Promise<void> {
    await this.#pool.request({ t: 'begin', path, size }, 'ok');
  }

  async write(path: string, offset: number, data: Buffer, digest: Buffer): Promise<void> {
    await this.#pool.request({ t: 'write', path, offset, data, digest }, 'ok');
  }

  async commit(path: string, size: number, meta: Meta): Promise<void> {
    await this.#pool.request({ t: 'commit', path, size, mtime: meta.mtime, mode: meta.mode }, 'ok');
  }

  async setMeta(path: string, meta: Meta): Promise<void> {
    await this.#pool.request({ t: 'meta', path, mtime: meta.mtime, mode: meta.mode }, 'ok');
  }

  async mkdir(path: string): Promise<void> {
    await this.#pool.request({ t: 'mkdir', path }, 'ok');
  }

  async symlink(path: string, target: string, mtime: number): Promise<void> {
    await this.#pool.request({ t: 'symlink', path, target, mtime }, 'ok');
  }

  async remove(path: string, recursive: boolean): Promise<void> {
    await this.#pool.request({ t: 'delete', path, recursive, partial: false }, 'ok');
  }

  async removePartial(path: string): Promise<void> {
    await this.#pool.request({ t: 'delete', path, recursive: false, partial: true }, 'ok');
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
