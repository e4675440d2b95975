import { read, readSync, write, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { WritePacer } from './write-pacer.js';

/**
 * Reads of this size or less are done with synchronous calls. On these machines a trip
 * through libuv's thread pool costs 10–25 µs, more than reading a small cached file; rsync is
 * synchronous throughout. Bigger reads stay asynchronous so that other lanes keep moving.
 */
export const SYNC_IO_LIMIT = 256 * 1024;

const readAsync = promisify(read);
const writeAsync = promisify(write);

/** Reads up to `length` bytes at `offset`, fewer only at end of file; small reads are synchronous. */
export async function readAt(fd: number, buffer: Buffer, offset: number, length: number): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    const bytesRead =
      length <= SYNC_IO_LIMIT
        ? readSync(fd, buffer, done, length - done, offset + done)
        : (await readAsync(fd, buffer, done, length - done, offset + done)).bytesRead;
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Reads from the start of the file into all of `buffer`, fewer bytes only at end of file (synchronous: small files). */
export function readStartSync(fd: number, buffer: Buffer): Buffer {
  let done = 0;
  while (done < buffer.length) {
    const bytesRead = readSync(fd, buffer, done, buffer.length - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/**
 * Writes go to the kernel in pieces of this size at most. A 1 MiB write makes the page cache take
 * memory in big blocks, and on a virtual machine whose balloon hands free memory back to the host
 * (these machines do, a few seconds after it is freed) touching such blocks again is slow: a
 * 1 GiB file written in 1 MiB pieces took 2.0–2.4 s of system time when its memory had been free
 * for 12 s, 0.21 s right after; in 64 KiB–512 KiB pieces, 0.22–0.35 s either way (rsync writes
 * small pieces). A 1 GiB copy with a new server, 10 alternating pairs: upload 0.76 × the time
 * (server system time 1.33 s instead of 2.47 s), download 0.83 ×. (That was memory a process
 * had freed. When page cache is freed, a deleted file's, writes of any size are slow there for
 * a while: bench/RESULTS.md, the full run at 1958152.)
 */
export const WRITE_PIECE = 256 * 1024;

/** Where writeAt writes: an open FileHandle, or a descriptor its caller holds open meanwhile. */
export type WriteTarget = FileHandle | number;

/**
 * Writes all of `data` at `offset` into `file` (its path), in pieces of WRITE_PIECE at most:
 * synchronously while `pacer` says so, else (the rest) handed to the thread pool together rather
 * than one after another (each then waited for a turn of the event loop: a 1 GiB download, 8
 * pairs, 0.92 × the time, an upload 0.89 ×). Settles once every piece has, so the caller may
 * reuse `data` then, failed or not.
 */
export async function writeAt(target: WriteTarget, file: string, data: Uint8Array, offset: number, pacer: WritePacer): Promise<void> {
  let at = 0;
  // A FileHandle's fd is its open descriptor until the close itself, after the operations under
  // way on it (none can start or end within this synchronous loop); -1 once closing: its own
  // write then fails, EBADF.
  const fd = typeof target === 'number' ? target : target.fd;
  const synchronous = fd >= 0 && data.length > 0 && pacer.local(fd, file);
  while (at < data.length && synchronous && pacer.calm()) {
    at += pacer.timed(() => writeSync(fd, data, at, Math.min(WRITE_PIECE, data.length - at), offset + at));
  }
  const pieces: Promise<void>[] = [];
  for (; at < data.length; at += WRITE_PIECE) {
    pieces.push(writePiece(target, data.subarray(at, Math.min(at + WRITE_PIECE, data.length)), offset + at));
  }
  const failed = (await Promise.allSettled(pieces)).find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

async function writePiece(target: WriteTarget, piece: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < piece.length) {
    const { bytesWritten } =
      typeof target === 'number'
        ? await writeAsync(target, piece, done, piece.length - done, offset + done)
        : await target.write(piece, done, piece.length - done, offset + done);
    done += bytesWritten;
  }
}
