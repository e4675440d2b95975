import type { ErrorCode } from '../../protocol/index.js';
import type { PoolEvent } from './lane-pool.js';

export type FileAction = 'new' | 'update' | 'metadata' | 'uptodate';

/** What a sync tells its caller as it goes: the CLI turns these into log lines or NDJSON. */
export type SyncEvent =
  /** Connecting to the server (the first time, and for each new session). */
  | { type: 'connecting'; server: string }
  | { type: 'connected'; session: string; server: string; lanes: number }
  /** Connection trouble: a failed attempt and the wait before the next, lanes lost, lanes back. */
  | PoolEvent
  /**
   * The source's regular files listed so far and their total size, as the listing goes (the sync
   * works while it lists); `complete` once the whole source is listed and the totals are final.
   */
  | { type: 'plan'; files: number; bytes: number; complete: boolean }
  /** Files found already in place (reported one by one only at --log-level chunks). */
  | { type: 'uptodate'; files: number; bytes: number }
  | {
      type: 'file';
      path: string;
      action: FileAction;
      size: number;
      bytesSent: number;
      /** The source's mtime (ms) and permission bits, now also the destination's. */
      mtime: number;
      mode: number;
      /** The destination file as it was, when there was one. */
      before?: { size: number; mtime: number; mode: number };
    }
  | { type: 'chunk'; path: string; offset: number; length: number }
  /** Bytes of a big file found identical at the destination, reported as its comparison goes. */
  | { type: 'matched'; path: string; bytes: number }
  | { type: 'mkdir'; path: string }
  | { type: 'symlink'; path: string; target: string }
  /** `partial`: the partial file of an interrupted transfer whose source is gone. */
  | { type: 'delete'; path: string; kind: 'file' | 'dir' | 'symlink' | 'partial' }
  | { type: 'warning'; path?: string; code: ErrorCode; message: string }
  | { type: 'error'; path?: string; code: ErrorCode; message: string };

export interface CacheSaving {
  files: number;
  bytes: number;
}

export interface SyncSummary {
  ok: boolean;
  filesTotal: number;
  filesTransferred: number;
  filesSkipped: number;
  filesDeleted: number;
  dirsDeleted: number;
  bytesTotal: number;
  bytesTransferred: number;
  bytesSkipped: number;
  chunksTransferred: number;
  chunksSkipped: number;
  /** Files that failed (exit 23). */
  filesFailed: number;
  /** Source files that vanished or changed while being read (exit 24). */
  filesChanged: number;
  /** A dry run: the counts say what a real run would have done; nothing was changed. */
  dryRun: boolean;
  /** Entries not deleted because there were more than --max-delete (exit 25). */
  deletionsRefused: number;
  /** True when the sync was interrupted (Ctrl-C): the counts say how far it got. */
  aborted: boolean;
  /** Requests sent again because their connection dropped. */
  retriedRequests: number;
  /** New sessions started because the previous one was lost (server restart, expiry). */
  sessionRestarts: number;
  /** Files and bytes whose digests came from the digest cache (not read), on each side. */
  cached: { local: CacheSaving; remote: CacheSaving };
  /** Bytes of the messages sent and received (frames and payloads as they travelled); `compressed`: payloads were compressed where it paid. */
  wire: { sent: number; received: number; compressed: boolean };
  durationMs: number;
}

export function emptySummary(): SyncSummary {
  return {
    ok: true,
    filesTotal: 0,
    filesTransferred: 0,
    filesSkipped: 0,
    filesDeleted: 0,
    dirsDeleted: 0,
    bytesTotal: 0,
    bytesTransferred: 0,
    bytesSkipped: 0,
    chunksTransferred: 0,
    chunksSkipped: 0,
    filesFailed: 0,
    filesChanged: 0,
    dryRun: false,
    deletionsRefused: 0,
    aborted: false,
    retriedRequests: 0,
    sessionRestarts: 0,
    cached: { local: { files: 0, bytes: 0 }, remote: { files: 0, bytes: 0 } },
    wire: { sent: 0, received: 0, compressed: false },
    durationMs: 0,
  };
}
