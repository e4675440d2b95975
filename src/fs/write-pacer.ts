import { fstatSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fsPath } from '../../protocol/index.js';

/**
 * File systems whose writes land in the local page cache (statfs `f_type`): ext2/3/4, XFS,
 * Btrfs, tmpfs, F2FS, ZFS, bcachefs, overlayfs. A network file system (NFS, CIFS) or a FUSE one
 * can keep a write waiting for a server; its writes always go through the thread pool.
 */
const LOCAL_FILE_SYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010, 0x2fc12fc1, 0xca451a4e, 0x794c7630]);

/** A piece written synchronously in more than this had to wait (for the disk, dirty-page throttling). */
const SLOW_WRITE_MS = 20;
/** After a slow piece, writes go through the thread pool this long before one is tried synchronously again. */
const POOL_AFTER_SLOW_MS = 2000;

/**
 * Decides how the pieces of received data (WRITE_PIECE at most) are written: synchronously, on the
 * event loop, while the file system takes them fast, else through libuv's thread pool.
 *
 * A write into the page cache takes 50–300 µs per 256 KiB here; handing it to the thread pool and
 * back costs more than that on two busy cores (the pool thread wakes, takes the event loop's core,
 * and wakes it again). A 1 GiB copy with a new server, synchronous pieces against pooled ones
 * (all four of a chunk at once), 4 alternating pairs each: upload 0.85 ×, download 0.87 × the
 * time, 0.2 s less CPU on the receiving side. rsync's receiver writes synchronously throughout.
 *
 * What a synchronous write risks is the event loop waiting with it: every lane, heartbeat and,
 * on a server, every session. So the first piece that takes longer than SLOW_WRITE_MS sends every
 * writer of the process to the thread pool for POOL_AFTER_SLOW_MS: a slow or throttled disk stops
 * the event loop for one write per period at most. Files on a network or FUSE file system are
 * always written through the pool; which one a file is on is looked up once per device (statfs,
 * right after the file was opened: on NFS that is one call to a server that just answered).
 */
export class WritePacer {
  readonly #slowMs: number;
  readonly #poolMs: number;
  /** Whether each device (st_dev) seen so far is on a local file system. */
  readonly #local = new Map<number, boolean>();
  #poolUntil = 0;

  constructor(options: { slowMs?: number; poolMs?: number } = {}) {
    this.#slowMs = options.slowMs ?? SLOW_WRITE_MS;
    this.#poolMs = options.poolMs ?? POOL_AFTER_SLOW_MS;
  }

  /** True when `fd`, open on `file` (an absolute path), is on a file system written synchronously. */
  local(fd: number, file: string): boolean {
    const { dev } = fstatSync(fd);
    let local = this.#local.get(dev);
    if (local === undefined) this.#local.set(dev, (local = onLocalFileSystem(dirname(file))));
    return local;
  }

  /** True unless a piece was slow within the last POOL_AFTER_SLOW_MS. */
  calm(): boolean {
    return performance.now() >= this.#poolUntil;
  }

  /** Runs one synchronous write (returning bytes written), noting a slow one. */
  timed(write: () => number): number {
    const start = performance.now();
    try {
      return write();
    } finally {
      const end = performance.now();
      if (end - start > this.#slowMs) this.#poolUntil = end + this.#poolMs;
    }
  }
}

/** The pacer every FileWriter of the process shares: one slow write sends them all to the pool. */
export const writePacer = new WritePacer();

/** True for a statfs `f_type` of a file system that WritePacer writes synchronously. */
export function isLocalFileSystem(type: number): boolean {
  return LOCAL_FILE_SYSTEMS.has(type);
}

function onLocalFileSystem(dir: string): boolean {
  try {
    return isLocalFileSystem(statfsSync(fsPath(dir)).type);
  } catch {
    return false;
  }
}
