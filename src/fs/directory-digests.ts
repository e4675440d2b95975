import { Packr } from 'msgpackr';
import type { FileState } from './digest-cache.js';

/** The cached digest of one small file (at most one chunk: its digest is the whole file's). */
export interface SmallFileRow {
  ino: bigint;
  size: bigint;
  mtime: bigint;
  ctime: bigint;
  /** When the digest was known to match this state (ns since the epoch). */
  verified: bigint;
  digest: Buffer;
}

/**
 * The cached digests of the small files of one directory, by name: loaded with one database
 * read when the directory is listed, so that a tree of many small files costs one lookup per
 * directory, not one per file. Grouping is only for speed: each row is trusted on the file's
 * own identity and state, never on its name or directory.
 */
export class DirectoryDigests {
  readonly rows: Map<string, SmallFileRow>;
  /** Changed since it was read: to be written. */
  dirty = false;

  constructor(rows = new Map<string, SmallFileRow>()) {
    this.rows = rows;
  }

  /** Decodes a stored record; anything unexpected makes an empty one (it is rebuilt as files are hashed). */
  static decode(bytes: Uint8Array): DirectoryDigests {
    const rows = new Map<string, SmallFileRow>();
    let fields: unknown;
    try {
      fields = packr.unpack(bytes);
    } catch {
      return new DirectoryDigests();
    }
    if (!Array.isArray(fields) || fields.length % FIELDS !== 0) return new DirectoryDigests();
    for (let i = 0; i < fields.length; i += FIELDS) {
      const [name, ino, size, mtime, ctime, verified, digest] = fields.slice(i, i + FIELDS) as unknown[];
      if (typeof name !== 'string' || !bigints(ino, size, mtime, ctime, verified) || !(digest instanceof Uint8Array)) return new DirectoryDigests();
      rows.set(name, { ino, size, mtime, ctime, verified, digest: Buffer.from(digest) } as SmallFileRow);
    }
    return new DirectoryDigests(rows);
  }

  encode(): Buffer {
    const fields: unknown[] = [];
    for (const [name, row] of this.rows) fields.push(name, row.ino, row.size, row.mtime, row.ctime, row.verified, row.digest);
    return packr.pack(fields);
  }

  /** The row of `name` if it describes the file in `state` exactly. */
  matching(name: string, state: FileState): SmallFileRow | undefined {
    const row = this.rows.get(name);
    if (row === undefined) return undefined;
    const same = row.ino === state.ino && row.size === state.size && row.mtime === state.mtimeNs && row.ctime === state.ctimeNs;
    return same ? row : undefined;
  }

  set(name: string, row: SmallFileRow): void {
    this.rows.set(name, row);
    this.dirty = true;
  }

  /** Drops the rows of files no longer in the directory. */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.rows.keys()) {
      if (!names.has(name)) {
        this.rows.delete(name);
        this.dirty = true;
      }
    }
  }
}

const FIELDS = 7;
/** 64-bit integers stay bigints both ways (ns since 1970 do not fit a double exactly). */
const packr = new Packr({ int64AsType: 'bigint', useRecords: false });

function bigints(...values: unknown[]): boolean {
  return values.every((v) => typeof v === 'bigint');
}
