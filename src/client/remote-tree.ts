import { ErrorCode, ParecoError, type Entry, type Response } from '../../protocol/index.js';
import { batchPayload } from '../fs/batch-payload.js';
import type { ChunkData, DigestList, ListOptions, Meta, SmallFile, Tree } from '../fs/tree.js';
import { releasedAfter } from '../fs/buffer-pool.js';
import { receiveBufferReleaser } from '../transport/receive-buffers.js';
import type { LanePool } from './lane-pool.js';

/** Listing batches asked ahead of the one being read: on a slow link they arrive back to back. */
const LIST_AHEAD = 4;

/** The server's side of a session, seen through the lanes as a Tree. */
export class RemoteTree implements Tree {
  readonly #pool: LanePool;

  constructor(pool: LanePool) {
    this.#pool = pool;
  }

  /**
   * The listing, `LIST_AHEAD` batches asked at a time (the server answers them in order and
   * keeps as many to answer again when a lane drops). The batches asked together with the
   * `open` (see LanePool.open) are taken first.
   */
  async *list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    const digests = options.digests === true;
    const asked: Promise<Extract<Response, { t: 'entries' }>>[] = [];
    const ask = (seq: number) => {
      const answer = this.#pool.prefetched(seq) ?? this.#pool.request({ t: 'list', seq, digests }, 'entries');
      answer.catch(() => {}); // awaited in order below
      asked.push(answer);
    };
    let next = 0;
    while (next < LIST_AHEAD) ask(next++);
    for (;;) {
      const { entries, done } = await asked.shift()!;
      if (entries.length > 0) yield entries;
      if (done) return;
      ask(next++);
    }
  }

  async digests(path: string, from: number, count: number): Promise<DigestList> {
    const { size, partial, digests } = await this.#pool.request({ t: 'hash', path, from, count }, 'hashes');
    return { size, partial, digests };
  }

  async blockDigests(path: string, index: number): Promise<Buffer> {
    return (await this.#pool.request({ t: 'blocks', path, index }, 'blocklist')).digests;
  }

  async read(path: string, offset: number, length: number): Promise<ChunkData> {
    const { data, digest, size, mtime } = await this.#pool.request({ t: 'read', path, offset, length }, 'data');
    return { data, digest, size, mtime, release: receiveBufferReleaser(data) };
  }

  async readMany(asked: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]> {
    const { files, data } = await this.#pool.request({ t: 'readmany', files: asked }, 'datamany');
    let offset = 0;
    const results = asked.map(({ path }, i): ChunkData | ParecoError => {
      const file = files[i];
      if (file === undefined) return new ParecoError(ErrorCode.PROTOCOL, `${path}: no answer in the batch`);
      if ('code' in file) return new ParecoError(file.code, file.message);
      const bytes = data.subarray(offset, offset + file.size);
      offset += file.size;
      return { data: bytes, digest: file.digest, size: file.size, mtime: file.mtime };
    });
    // The files share one message: it is given back once each of them is released.
    const delivered = results.filter((result): result is ChunkData => !(result instanceof ParecoError));
    const release = releasedAfter(delivered.length, receiveBufferReleaser(data));
    for (const result of delivered) result.release = release;
    return results;
  }

  async putMany(files: SmallFile[]): Promise<(ParecoError | undefined)[]> {
    const data = batchPayload(files.map((file) => file.data));
    const body = files.map(({ path, data: bytes, digest, meta }) => ({ path, size: bytes.length, mtime: meta.mtime, mode: meta.mode, digest }));
    const { results } = await this.#pool.request({ t: 'putmany', files: body, data }, 'results');
    return files.map((file, i) => {
      const result = results[i];
      if (result === undefined) return new ParecoError(ErrorCode.PROTOCOL, `${file.path}: no answer in the batch`);
      return result === null ? undefined : new ParecoError(result.code, result.message);
    });
  }

  async begin(path: string, size: number): Promise<void> {
    await this.#pool.request({ t: 'begin', path, size }, 'ok');
  }

  async write(path: string, offset: number, size: number, data: Buffer, digest: Buffer): Promise<void> {
    await this.#pool.request({ t: 'write', path, offset, size, data, digest }, 'ok');
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
