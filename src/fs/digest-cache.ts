import { lstatSync, mkdirSync, rmSync, type BigIntStats } from 'node:fs';
import { fsPath } from '../../protocol/index.js';
import { join } from 'node:path';
import { DirectoryDigests } from './directory-digests.js';
import { openSqlite, type SqlDatabase, type SqlStatement } from './sqlite.js';

/**
 * What identifies a file's content without reading it: the inode (device and number) and its
 * state (size, mtime and ctime to the nanosecond). Writing a file changes its mtime and ctime;
 * giving it back its old mtime (touch -d) still changes its ctime, which nothing but the kernel
 * sets.
 */
export interface FileState {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A directory, by identity: the small files in it are cached together (see DirectoryDigests). */
export interface DirId {
  dev: bigint;
  ino: bigint;
}

/** A file's digests: its chunks' (end to end), and its blocks' when they were kept. */
export interface FileDigests {
  chunks: Buffer;
  blocks: Buffer | undefined;
}

/** The digest parameters of a session: digests of another hash, chunk or block size do not compare. */
export interface DigestParams {
  hash: string;
  chunk: number;
  block: number;
}

/** An entry is trusted only if the file's mtime and ctime are this much older than when its digests were known. */
const RACY_MARGIN_NS = 100_000_000n;
/** Block digests are kept for files up to this many bytes of them (a 1 GiB file's, with 8-byte digests of 8 KiB blocks). */
export const MAX_BLOCKS_BYTES = 1024 * 1024;
/** Entries not used for this long are dropped (files that no longer exist among them)... */
const STALE_MS = 30 * 24 * 3600 * 1000;
/** ...and beyond this many entries, the least recently used too. */
const MAX_ENTRIES = 2_000_000;
/** A hit refreshes an entry's last use at most this often (a write per hit would cost more than the hit). */
const TOUCH_AFTER_MS = 24 * 3600 * 1000;
/** Files written waiting for confirmation beyond which the settled ones are confirmed at once. */
const CONFIRM_BATCH = 4096;
/** Entries written in one transaction, at the latest after FLUSH_MS. */
const FLUSH_BATCH = 1000;
const FLUSH_MS = 200;
/**
 * Directories' records kept in memory (a listing goes through them one after the other), and the
 * rows they may hold together (~400 bytes each): a tree of a million files in directories of a
 * few hundred keeps a few MiB, not the rows of 512 directories. One directory is always kept,
 * whatever its size.
 */
const DIRECTORIES_HELD = 512;
const DIRECTORY_ROWS_HELD = 16_384;
/** Bumped whenever the stored format changes: a cache of another format is dropped. */
const FORMAT = 2;

interface Row {
  size: string;
  mtime: string;
  ctime: string;
  verified: string;
  chunks: Uint8Array;
  blocks: Uint8Array | null;
  used: number;
}

interface Pending {
  key: string;
  row: Omit<Row, 'used'>;
}

/**
 * A persistent cache of file digests, so that a file whose identity and state did not change is
 * never read again to be compared: what makes a re-sync of unchanged data cost about what
 * rsync's size-and-mtime check costs, while still comparing digests. Kept in SQLite (one file in
 * the user's cache directory, safe for several processes at once; loaded only when digests are
 * compared): a row per big file, with its chunks' and blocks' digests, and a row per directory
 * for the small files in it (one read per directory listed; see DirectoryDigests). Two
 * processes changing one directory's row at once may lose each other's additions: a miss, never
 * a wrong answer.
 *
 * Never wrong: an entry is used only when every field of the state matches and the file's
 * mtime and ctime were safely older than the moment its digests were known (a change within
 * the same clock tick would not show: such a "racy" entry is hashed again, as git does). A cache
 * that cannot be opened, or holds anything unexpected, is dropped and rebuilt; a failure of the
 * cache never fails a sync, it only makes it read.
 */
export class DigestCache {
  readonly #db: SqlDatabase;
  readonly #get: SqlStatement;
  readonly #put: SqlStatement;
  readonly #touch: SqlStatement;
  readonly #getDir: SqlStatement;
  readonly #putDir: SqlStatement;
  readonly #touchDir: SqlStatement;
  readonly #now: () => bigint;
  readonly #statOf: (path: string) => FileState | undefined;
  readonly #warn: (message: string) => void;
  #pending = new Map<string, Pending>();
  /** Records of directories read or changed lately, least recently used first. */
  readonly #directories = new Map<string, DirectoryDigests>();
  /** Rows of the records in #directories. */
  #rowsHeld = 0;
  #timer: NodeJS.Timeout | undefined;
  #broken = false;
  /** Files this process wrote, by path: their entries are confirmed at the end (see confirmWritten). */
  readonly #written = new Map<string, { state: FileState; confirm: (verified: bigint) => void }>();
  /** Files and bytes whose digests came from the cache. */
  hits = { files: 0, bytes: 0 };

  private constructor(db: SqlDatabase, warn: (message: string) => void, now: () => bigint, statOf: (path: string) => FileState | undefined) {
    this.#db = db;
    this.#warn = warn;
    this.#now = now;
    this.#statOf = statOf;
    this.#get = db.prepare('SELECT size, mtime, ctime, verified, chunks, blocks, used FROM digests WHERE key = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO digests (key, size, mtime, ctime, verified, chunks, blocks, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#touch = db.prepare('UPDATE digests SET used = ? WHERE key = ?');
    this.#getDir = db.prepare('SELECT files, used FROM directories WHERE key = ?');
    this.#putDir = db.prepare('INSERT OR REPLACE INTO directories (key, files, used) VALUES (?, ?, ?)');
    this.#touchDir = db.prepare('UPDATE directories SET used = ? WHERE key = ?');
  }

  /**
   * Opens (or creates) the cache in `dir`; undefined, with a warning, when it cannot be used.
   * A damaged or foreign cache file is removed and a new one made.
   */
  static open(dir: string, warn: (message: string) => void, now: () => bigint = nowNs, statOf: (path: string) => FileState | undefined = fileStateAt): DigestCache | undefined {
    const path = join(dir, 'digests.sqlite');
    for (let attempt = 0; attempt < 2; attempt++) {
      let db: SqlDatabase | undefined;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        db = openSqlite(path);
        prepareSchema(db);
        const cache = new DigestCache(db, warn, now, statOf);
        cache.#trim();
        return cache;
      } catch (error) {
        try {
          db?.close();
        } catch {
          // already unusable
        }
        if (attempt === 0) {
          // Damaged, foreign or of another format: start over (if the directory itself is not the trouble).
          try {
            for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
            continue;
          } catch {
            // reported below
          }
        }
        warn(`the digest cache in ${dir} cannot be used (${(error as Error).message}); comparing without it`);
        return undefined;
      }
    }
    return undefined;
  }

  /** The digests of a file in this state, or undefined when unknown or not to be trusted. */
  lookup(state: FileState, params: DigestParams): FileDigests | undefined {
    const key = keyOf(state, params);
    const row = this.#pending.get(key)?.row ?? this.#read(key);
    if (row === undefined || !matches(row, state) || !trusted(BigInt(row.verified), state)) return undefined;
    const nowMs = Date.now();
    if ('used' in row && nowMs - (row as Row).used > TOUCH_AFTER_MS) this.#run(() => this.#touch.run(nowMs, key));
    this.hits.files++;
    this.hits.bytes += Number(state.size);
    return { chunks: asBuffer(row.chunks), blocks: row.blocks === null ? undefined : asBuffer(row.blocks) };
  }

  /**
   * Records a file's digests, known to match `state` at `verifiedNs` (when hashing began, for a
   * file read; right after the last change, for a file written). `written`: this process wrote
   * it, at `path`, so that the entry can be confirmed at the end of the session.
   */
  record(state: FileState, params: DigestParams, digests: FileDigests, verifiedNs: bigint, written?: { path: string }): void {
    if (this.#broken) return;
    const key = keyOf(state, params);
    const blocks = digests.blocks !== undefined && digests.blocks.length <= MAX_BLOCKS_BYTES ? digests.blocks : null;
    this.#pending.set(key, { key, row: { size: String(state.size), mtime: String(state.mtimeNs), ctime: String(state.ctimeNs), verified: String(verifiedNs), chunks: digests.chunks, blocks } });
    if (written !== undefined) {
      this.#written.set(written.path, {
        state,
        confirm: (now) => {
          const row = this.#pending.get(key)?.row ?? this.#read(key);
          if (row !== undefined && matches(row, state)) this.#pending.set(key, { key, row: { ...row, verified: String(now) } });
        },
      });
    }
    this.#changed();
    this.#confirmSomeWritten();
  }

  /**
   * The digest of a small file (at most one chunk) named `name` in directory `dir`, in this
   * state; undefined when unknown or not to be trusted. The directory's record is read once and
   * kept while the listing goes through it.
   */
  lookupSmall(dir: DirId, name: string, state: FileState, params: DigestParams): Buffer | undefined {
    const row = this.#directory(dir, params)?.matching(name, state);
    if (row === undefined || !trusted(row.verified, state)) return undefined;
    this.hits.files++;
    this.hits.bytes += Number(state.size);
    return row.digest;
  }

  /** Records the digest of a small file: as `record`, in its directory's record. */
  recordSmall(dir: DirId, name: string, state: FileState, params: DigestParams, digest: Buffer, verifiedNs: bigint, written?: { path: string }): void {
    const record = this.#directory(dir, params);
    if (record === undefined) return;
    this.#resize(record, () => record.set(name, { ino: state.ino, size: state.size, mtime: state.mtimeNs, ctime: state.ctimeNs, verified: verifiedNs, digest }));
    if (written !== undefined) {
      this.#written.set(written.path, {
        state,
        confirm: (now) => {
          const current = this.#directory(dir, params);
          const row = current?.matching(name, state);
          if (row !== undefined) this.#resize(current!, () => current!.set(name, { ...row, verified: now }));
        },
      });
    }
    this.#changed();
    this.#confirmSomeWritten();
  }

  /**
   * Memory stays bounded in a copy of millions of files: once many files wait for their
   * confirmation, those written long enough ago are confirmed now rather than at the end.
   */
  #confirmSomeWritten(): void {
    if (this.#written.size >= CONFIRM_BATCH) this.confirmWritten(this.#statOf);
  }

  /** The names now in directory `dir`: rows of files gone from it are dropped. */
  directoryListed(dir: DirId, params: DigestParams, names: ReadonlySet<string>): void {
    const record = this.#directory(dir, params);
    if (record === undefined) return;
    this.#resize(record, () => record.keepOnly(names));
    if (record.dirty) this.#changed();
  }

  /** Rows of small files held in memory (the directories' records lately used). */
  get rowsHeld(): number {
    return this.#rowsHeld;
  }

  /** Files written whose entries wait for their confirmation. */
  get unconfirmed(): number {
    return this.#written.size;
  }

  /** Milliseconds until every file written so far can be confirmed (0: now). */
  unsettledMs(): number {
    let last = 0n;
    for (const { state } of this.#written.values()) {
      if (state.ctimeNs > last) last = state.ctimeNs;
      if (state.mtimeNs > last) last = state.mtimeNs;
    }
    const wait = last + RACY_MARGIN_NS - this.#now();
    return wait > 0n ? Math.ceil(Number(wait) / 1e6) + 1 : 0;
  }

  /**
   * At the end of a session, confirms the entries of files this process wrote: recorded the
   * moment after their last change, they are racy by the rule above; a file still in the state
   * recorded, now that its mtime and ctime are safely in the past, had no other writer since
   * (except within the same clock tick as our own last change: the one window left, which only
   * a second writer into a directory being synced could hit).
   */
  confirmWritten(statOf: (path: string) => FileState | undefined = this.#statOf): void {
    const now = this.#now();
    for (const [path, { state, confirm }] of this.#written) {
      // Written too lately to be confirmed yet: left for a later call (another session's end).
      if (state.ctimeNs >= now - RACY_MARGIN_NS || state.mtimeNs >= now - RACY_MARGIN_NS) continue;
      this.#written.delete(path);
      const current = statOf(path);
      if (current !== undefined && sameState(current, state)) confirm(now);
    }
    this.#flush();
  }

  /** Writes what is pending and closes the database. */
  close(): void {
    this.#flush();
    try {
      this.#db.close();
    } catch {
      // nothing more to lose
    }
  }

  #read(key: string): Row | undefined {
    if (this.#broken) return undefined;
    let row: unknown;
    this.#run(() => (row = this.#get.get(key)));
    if (row === undefined || row === null) return undefined;
    const r = row as Partial<Row>;
    if (typeof r.size !== 'string' || typeof r.mtime !== 'string' || typeof r.ctime !== 'string' || typeof r.verified !== 'string' || !(r.chunks instanceof Uint8Array)) return undefined;
    return r as Row;
  }

  /** Something is to be written: soon, or now when much is. */
  #changed(): void {
    if (this.#pending.size >= FLUSH_BATCH) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  /** The record of directory `dir`: held, else read, else a new one. Undefined when the cache no longer works. */
  #directory(dir: DirId, params: DigestParams): DirectoryDigests | undefined {
    if (this.#broken) return undefined;
    const key = `${dir.dev}:${dir.ino}:${params.hash}:${params.chunk}:${params.block}`;
    let record = this.#directories.get(key);
    if (record !== undefined) {
      this.#directories.delete(key); // to the most recently used end
    } else {
      let row: unknown;
      this.#run(() => (row = this.#getDir.get(key)));
      const stored = row as { files?: unknown; used?: unknown } | undefined;
      if (stored?.files instanceof Uint8Array) {
        record = DirectoryDigests.decode(stored.files);
        const nowMs = Date.now();
        if (typeof stored.used === 'number' && nowMs - stored.used > TOUCH_AFTER_MS) this.#run(() => this.#touchDir.run(nowMs, key));
      } else {
        // None yet: an empty one is held, so that the directory's other files need no read either.
        record = new DirectoryDigests();
      }
      this.#rowsHeld += record.rows.size;
    }
    this.#directories.set(key, record);
    while (this.#directories.size > 1 && (this.#directories.size > DIRECTORIES_HELD || this.#rowsHeld > DIRECTORY_ROWS_HELD)) {
      // The oldest goes; if it holds changes, everything pending is written first.
      const [oldestKey, oldest] = this.#directories.entries().next().value as [string, DirectoryDigests];
      if (oldest.dirty) this.#flush();
      this.#directories.delete(oldestKey);
      this.#rowsHeld -= oldest.rows.size;
    }
    return record;
  }

  /** Makes a change to a held directory record, keeping count of the rows held. */
  #resize(record: DirectoryDigests, change: () => void): void {
    const before = record.rows.size;
    change();
    this.#rowsHeld += record.rows.size - before;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const directories = [...this.#directories].filter(([, record]) => record.dirty);
    if ((this.#pending.size === 0 && directories.length === 0) || this.#broken) return;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const [, record] of directories) record.dirty = false;
    const used = Date.now();
    this.#run(() => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const { key, row } of pending) this.#put.run(key, row.size, row.mtime, row.ctime, row.verified, row.chunks, row.blocks, used);
        for (const [key, record] of directories) this.#putDir.run(key, record.encode(), used);
        this.#db.exec('COMMIT');
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Drops stale entries (and directories' records), and the least recently used entries beyond the bound. */
  #trim(): void {
    const cutoff = Date.now() - STALE_MS;
    this.#db.prepare('DELETE FROM digests WHERE used < ?').run(cutoff);
    this.#db.prepare('DELETE FROM directories WHERE used < ?').run(cutoff);
    const { n } = this.#db.prepare('SELECT count(*) AS n FROM digests').get() as { n: number };
    if (n > MAX_ENTRIES) this.#db.prepare('DELETE FROM digests WHERE key IN (SELECT key FROM digests ORDER BY used LIMIT ?)').run(n - MAX_ENTRIES / 2);
  }

  /**
   * Runs a database call; a failure (the database went bad, the disk is full, another process
   * holds it too long) turns the cache off for the rest of the run: comparing goes on without it.
   */
  #run(call: () => void): void {
    if (this.#broken) return;
    try {
      call();
    } catch (error) {
      this.#broken = true;
      this.#warn(`the digest cache stopped working (${(error as Error).message}); comparing without it`);
    }
  }
}

/** What the cache keys and checks a file by, from its lstat or fstat. */
export function stateOf(st: BigIntStats): FileState {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** A regular file's state now, by path (not following a symlink); undefined when it is not one. */
export function fileStateAt(file: string): FileState | undefined {
  const st = lstatSync(fsPath(file), { bigint: true, throwIfNoEntry: false });
  return st?.isFile() ? stateOf(st) : undefined;
}

/** The time now in ns since the epoch (to the ms: the racy margin is far coarser). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Creates the table, or drops a cache of another format (or a file that is no cache of ours). */
function prepareSchema(db: SqlDatabase): void {
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  // Pages read through a mapping, not a pread each (a re-sync reads many of them once).
  db.exec('PRAGMA mmap_size = 268435456');
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version !== FORMAT) {
    db.exec('DROP TABLE IF EXISTS digests');
    db.exec('DROP TABLE IF EXISTS directories');
    db.exec(`PRAGMA user_version = ${FORMAT}`);
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS digests (key TEXT PRIMARY KEY, size TEXT NOT NULL, mtime TEXT NOT NULL, ctime TEXT NOT NULL, verified TEXT NOT NULL, chunks BLOB NOT NULL, blocks BLOB, used INTEGER NOT NULL) WITHOUT ROWID',
  );
  db.exec('CREATE INDEX IF NOT EXISTS digests_used ON digests (used)');
  db.exec('CREATE TABLE IF NOT EXISTS directories (key TEXT PRIMARY KEY, files BLOB NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID');
  db.exec('CREATE INDEX IF NOT EXISTS directories_used ON directories (used)');
  db.prepare('SELECT key FROM digests LIMIT 1').get(); // a damaged file fails here, not later
}

function keyOf(state: FileState, params: DigestParams): string {
  return `${state.dev}:${state.ino}:${params.hash}:${params.chunk}:${params.block}`;
}

function matches(row: Omit<Row, 'used'>, state: FileState): boolean {
  return row.size === String(state.size) && row.mtime === String(state.mtimeNs) && row.ctime === String(state.ctimeNs);
}

/** Not racy: the file had its state safely before its digests were known. */
function trusted(verified: bigint, state: FileState): boolean {
  return state.mtimeNs < verified - RACY_MARGIN_NS && state.ctimeNs < verified - RACY_MARGIN_NS;
}

function sameState(a: FileState, b: FileState): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
