import { closeSync, constants, fchmodSync, fsyncSync, futimesSync, open as openCallback, renameSync } from 'node:fs';
import { promisify } from 'node:util';
import { copyFile, lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, fsPath, ParecoError } from '../../protocol/index.js';
import type { Meta } from './tree.js';
import { partialName } from './partial-name.js';
import { WritableDirs } from './writable-dirs.js';
import { writeAt } from './positional-io.js';
import { writePacer } from './write-pacer.js';

const openFd = promisify(openCallback);

interface OpenFile {
  fh: FileHandle;
  /** Where the data goes: the partial file, or the target itself in place. */
  file: string;
  target: string;
  /** The final size declared at begin: no write may go past it. */
  size: number;
}

/** Absolute path of the partial file for a target. */
export function partialPathOf(target: string): string {
  return join(dirname(target), partialName(basename(target)));
}

const READ_WRITE_NOFOLLOW = constants.O_RDWR | constants.O_NOFOLLOW;

/**
 * Writes files safely: data goes to a partial file beside the target, which starts as a copy of
 * the target (so unchanged chunks need not be sent) or as the partial left by an interrupted
 * run, and is renamed over the target at commit. In place, data goes straight into the target.
 */
export class FileWriter {
  readonly #inplace: boolean;
  readonly #fsync: boolean;
  readonly #open = new Map<string, Promise<OpenFile>>();
  /** Whole-file writes under way, by key: a second one for the same file waits for the first. */
  readonly #putting = new Map<string, Promise<void>>();
  readonly #committing = new Map<string, Promise<void>>();
  /**
   * Files begun by copying their target into a new partial file (not reusing an old partial),
   * until committed or closed: while the copy runs, and after, the target is what they are
   * compared against (see startedFromTarget).
   */
  readonly #fromTarget = new Set<string>();

  /** Read-only directories are opened for the changes made in them. */
  readonly #dirs: WritableDirs;

  constructor(options: { inplace: boolean; fsync?: boolean; dirs?: WritableDirs }) {
    this.#inplace = options.inplace;
    this.#fsync = options.fsync ?? false;
    this.#dirs = options.dirs ?? new WritableDirs();
  }

  /** Opens (or reopens) the file for `key` with its final size. */
  async begin(key: string, target: string, size: number): Promise<void> {
    let pending = this.#open.get(key);
    if (pending === undefined) {
      // Forgotten before the failure is seen, so that an attempt made on hearing of it (after
      // creating the missing directory) opens the file anew.
      const opening: Promise<OpenFile> = this.#openFile(key, target).catch((error: unknown) => {
        if (this.#open.get(key) === opening) {
          this.#open.delete(key);
          this.#fromTarget.delete(key);
        }
        throw error;
      });
      pending = opening;
      this.#open.set(key, pending);
    }
    const file = await pending;
    file.size = size;
    await file.fh.truncate(size);
  }

  /**
   * True when `key` was begun as a fresh copy of its target (its partial file may still be
   * being filled): the target, not the partial file, is then the basis to compare against.
   */
  startedFromTarget(key: string): boolean {
    return this.#fromTarget.has(key);
  }

  /** True while `key` is open for writing (begun, not committed). */
  isOpen(key: string): boolean {
    return this.#open.has(key);
  }

  /** Writes inside the size declared at begin (a bad peer cannot grow a huge sparse file). */
  async write(key: string, offset: number, data: Uint8Array): Promise<void> {
    const file = await this.#get(key);
    if (offset + data.length > file.size) {
      throw new ParecoError(ErrorCode.PROTOCOL, `${key}: write of ${data.length} bytes at ${offset} goes past the declared size ${file.size}`);
    }
    await writeAt(file.fh, file.file, data, offset, writePacer);
  }

  /** Truncates, applies metadata, closes, and renames the partial file over the target. Idempotent. */
  commit(key: string, target: string, size: number, meta: Meta): Promise<void> {
    // A retried commit (its lane dropped) can arrive while the first one is still running.
    const running = this.#committing.get(key);
    if (running !== undefined) return running;
    const commit = this.#commit(key, target, size, meta).finally(() => this.#committing.delete(key));
    this.#committing.set(key, commit);
    return commit;
  }

  async #commit(key: string, target: string, size: number, meta: Meta): Promise<void> {
    if (!this.#open.has(key) && (await this.#alreadyCommitted(target, size, meta))) return;
    const file = await this.#get(key);
    this.#open.delete(key);
    this.#fromTarget.delete(key);
    try {
      await file.fh.truncate(size);
      await file.fh.chmod(meta.mode);
      await file.fh.utimes(new Date(), mtimeSeconds(meta.mtime));
      if (this.#fsync) await file.fh.sync();
    } finally {
      await file.fh.close();
    }
    await this.#rename(file.file, file.target);
  }

  /** Moves the partial file into place; with fsync, the directory entry is flushed too. */
  async #rename(file: string, target: string): Promise<void> {
    if (file === target) return;
    // Replacing a file frees the old one's blocks within the rename (50 ms for 256 MiB here):
    // holding it open defers that to its close, done in the thread pool after we answer.
    const old = await open(fsPath(target), constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
    try {
      await this.#dirs.around(target, () => rename(fsPath(file), fsPath(target)));
    } finally {
      void old?.close().catch(() => {});
    }
    if (this.#fsync) await this.#syncDir(target);
  }

  async #syncDir(target: string): Promise<void> {
    const dir = await open(fsPath(dirname(target)), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * Writes a whole file at once (small files): same safety as begin + write + commit. Two puts
   * of one file (a request sent again after a lost connection while the first still runs) take
   * turns: interleaved, both would write the one partial file and the second rename would fail.
   */
  async put(key: string, target: string, data: Uint8Array, meta: Meta): Promise<void> {
    const previous = this.#putting.get(key);
    const turn = (async () => {
      await previous?.catch(() => {}); // its own caller hears its failure
      await this.#put(key, target, data, meta);
    })();
    this.#putting.set(key, turn);
    try {
      await turn;
    } finally {
      if (this.#putting.get(key) === turn) this.#putting.delete(key);
    }
  }

  async #put(key: string, target: string, data: Uint8Array, meta: Meta): Promise<void> {
    if (this.#open.has(key)) await this.closeFile(key);
    const file = this.#inplace ? target : partialPathOf(target);
    // The whole content is here: no need to start from the old target or an old partial.
    // Small files are written as received chunks are (see WritePacer), and closed synchronously,
    // but opened in the thread pool: creating a file took 100–250 µs here (rsync's receiver
    // pays the same), time in which the event loop can take in the next files' data.
    const fd = await this.#dirs.around(file, () => openFd(fsPath(file), READ_WRITE_NOFOLLOW | constants.O_CREAT | constants.O_TRUNC, 0o600));
    try {
      await writeAt(fd, file, data, 0, writePacer);
      fchmodSync(fd, meta.mode);
      futimesSync(fd, new Date(), mtimeSeconds(meta.mtime));
      if (this.#fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (file !== target) await this.#dirs.around(target, async () => renameSync(fsPath(file), fsPath(target)));
    if (this.#fsync) await this.#syncDir(target);
  }

  /** Closes one file without committing it (its partial file stays). */
  async closeFile(key: string): Promise<void> {
    const pending = this.#open.get(key);
    this.#open.delete(key);
    this.#fromTarget.delete(key);
    await (await pending?.catch(() => undefined))?.fh.close().catch(() => undefined);
  }

  /**
   * True when a commit was carried out already and only its answer was lost (a retried request
   * after a dropped lane): the target is in place with its size and mtime, and no partial is left.
   */
  async #alreadyCommitted(target: string, size: number, meta: Meta): Promise<boolean> {
    const [st, partial] = await Promise.all([lstat(fsPath(target)).catch(() => undefined), lstat(fsPath(partialPathOf(target))).catch(() => undefined)]);
    return st?.isFile() === true && st.size === size && Math.floor(st.mtimeMs) === Math.floor(meta.mtime) && (this.#inplace || partial === undefined);
  }

  /** Closes every open file, keeping partial files for the next run to reuse. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((key) => this.closeFile(key)));
  }

  async #get(key: string): Promise<OpenFile> {
    const pending = this.#open.get(key);
    if (pending === undefined) throw new ParecoError(ErrorCode.PROTOCOL, `${key}: not opened for writing (begin first)`);
    return pending;
  }

  async #openFile(key: string, target: string): Promise<OpenFile> {
    if (this.#inplace) {
      const fh = await this.#dirs.around(target, () => open(fsPath(target), READ_WRITE_NOFOLLOW | constants.O_CREAT, 0o600));
      return { fh, file: target, target, size: 0 };
    }
    const file = partialPathOf(target);
    const reused = await open(fsPath(file), READ_WRITE_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (reused !== undefined) return { fh: reused, file, target, size: 0 };
    this.#fromTarget.add(key);
    try {
      // Start from the current target so chunks that already match need not be sent.
      await this.#dirs.around(file, () => copyFile(fsPath(target), fsPath(file), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.#fromTarget.delete(key); // no target (or not a file): the partial file starts empty
      if (code !== 'ENOENT') {
        await unlink(fsPath(file)).catch(() => undefined);
        if (code !== 'EISDIR' && code !== 'ELOOP') throw error;
      }
    }
    const fh = await this.#dirs.around(file, () => open(fsPath(file), READ_WRITE_NOFOLLOW | constants.O_CREAT, 0o600));
    await fh.chmod(0o600); // a copy of a read-only target must still be writable by us
    return { fh, file, target, size: 0 };
  }
}

/**
 * True when utimes keeps nanoseconds (libuv 1.52, Node 24); before, libuv cut the time to
 * microseconds, toward zero.
 */
export const NANOSECOND_UTIMES = atLeast(process.versions.uv ?? '0', [1, 52]);

/**
 * Seconds for utimes from milliseconds, so that the microsecond read back is the one sent.
 * The double is never exact, so aim half a microsecond inside it: above it where the time is
 * kept to the nanosecond (read back floors), and away from zero where libuv cuts to
 * microseconds toward zero. It is a numeric string because Node replaces a negative number
 * (a time before 1970) with "now", but not a string.
 */
export function mtimeSeconds(mtimeMs: number): string {
  const micros = Math.floor(mtimeMs * 1000);
  return String((micros + (NANOSECOND_UTIMES || micros >= 0 ? 0.5 : -0.5)) / 1e6);
}

function atLeast(version: string, wanted: [number, number]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}
