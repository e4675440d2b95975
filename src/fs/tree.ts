import type { Entry, ParecoError } from '../../protocol/index.js';

/** Metadata applied to a file or directory at the destination. */
export interface Meta {
  /** Milliseconds since the epoch. */
  mtime: number;
  /** Permission bits (0o7777). */
  mode: number;
}

/** Digests of consecutive chunks of a file, from the chunk asked for. */
export interface DigestList {
  /** Size of the file that was hashed. */
  size: number;
  /** True when a destination hashed a partial file left by an earlier run, not the target. */
  partial: boolean;
  digests: Buffer[];
}

export interface ChunkData {
  data: Buffer;
  /** Range digest of `data` (see RangeDigest), computed by the side that read it. */
  digest: Buffer;
  /** The source file's size and mtime right after the read, to notice a file being written. */
  size: number;
  mtime: number;
  /**
   * When set, call it once `data` is no longer needed: its buffer is reused (once every file
   * that shares it, in a batch, was released).
   */
  release?: () => void;
}

/** A whole new small file (at most one chunk) to put in place. */
export interface SmallFile {
  path: string;
  data: Buffer;
  /** Range digest of `data`, checked before anything is written. */
  digest: Buffer;
  meta: Meta;
}

export interface ListOptions {
  /**
   * List the digest of every file of at most one chunk (Entry.digest); 'cached': of those whose
   * digest the cache has (nothing is read).
   */
  digests?: boolean | 'cached';
}

/**
 * One side of a sync: a directory tree, local or behind a session. The client drives two of
 * them, a source and a destination, with the same code in both directions.
 */
export interface Tree {
  /** Streams the filtered listing in batches, in canonical order (protocol/name-order.ts). */
  list(options?: ListOptions): AsyncIterable<Entry[]>;
  /** Digests of chunks `from`..`from+count-1` (fewer at the end of the file). */
  digests(path: string, from: number, count: number): Promise<DigestList>;
  /** Block digests of one chunk, end to end (of the partial file, where `digests` used it). */
  blockDigests(path: string, index: number): Promise<Buffer>;
  read(path: string, offset: number, length: number): Promise<ChunkData>;
  /**
   * Whole small files read in one exchange, in order, each up to the size it was listed with (a
   * file that changed since shows in the size and mtime read after); a file that cannot be read
   * is its error. The data of all of them may share one buffer.
   */
  readMany(files: { path: string; size: number }[]): Promise<(ChunkData | ParecoError)[]>;
  /** Opens `path` for writing with its final size; data goes to a partial file unless in place. */
  begin(path: string, size: number): Promise<void>;
  /** Writes one run of bytes after checking it against `digest`; begins the file if need be. */
  write(path: string, offset: number, size: number, data: Buffer, digest: Buffer): Promise<void>;
  /** Puts whole new small files in place in one exchange; each result is undefined or its error. */
  putMany(files: SmallFile[]): Promise<(ParecoError | undefined)[]>;
  /** Applies metadata and moves the file into place. */
  commit(path: string, size: number, meta: Meta): Promise<void>;
  setMeta(path: string, meta: Meta): Promise<void>;
  mkdir(path: string): Promise<void>;
  symlink(path: string, target: string, mtime: number): Promise<void>;
  /** Removes a file, symlink or directory (with its contents when `recursive`). */
  remove(path: string, recursive: boolean): Promise<void>;
  /** Removes the partial file an interrupted transfer left for `path` (fine when there is none). */
  removePartial(path: string): Promise<void>;
  close(): Promise<void>;
}
