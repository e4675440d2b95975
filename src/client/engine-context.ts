import { ErrorCode, isFatal, toParecoError, type Entry } from '../../protocol/index.js';
import type { RangeDigest } from '../digest/range-digest.js';
import type { PathFilter } from '../fs/filter.js';
import type { Tree } from '../fs/tree.js';
import type { Cancellation } from '../transport/cancellation.js';
import type { ByteWindow } from './byte-window.js';
import type { RateLimit } from './rate-limit.js';
import type { FileAction, SyncEvent, SyncSummary } from './sync-report.js';

/** What every phase of a sync works with: the two trees, the settings, the shared limits. */
export interface EngineContext {
  source: Tree;
  dest: Tree;
  chunk: number;
  range: RangeDigest;
  skipDigest: boolean;
  /** Data goes straight into destination files (no partial files to reuse or leave). */
  inplace: boolean;
  /** Count what would be sent instead of reading and sending it. */
  dryRun: boolean;
  filter: PathFilter;
  deletion: { enabled: boolean; max?: number };
  /** Payload bytes in flight over all lanes. */
  window: ByteWindow;
  /** Block comparisons (one request to each side) in flight, over all files. */
  compares: ByteWindow;
  /** --bwlimit, shared by all lanes. */
  rate?: RateLimit;
  summary: SyncSummary;
  emit: (event: SyncEvent) => void;
  /** A `file` event for every unchanged file too (else they are counted in `uptodate` events). */
  reportUnchanged: boolean;
  /** The user's interrupt. */
  cancellation: Cancellation;
  /** Unchanged files not reported one by one yet: the engine reports them in one `uptodate` event per group. */
  unreported: { files: number; bytes: number };
}

/**
 * Runs one entry's work. A failure of the entry alone is counted and reported (a source that
 * changed or vanished meanwhile as a warning, exit 24; anything else as an error, exit 23) and
 * resolves false; a failure of the connection or session rejects, which stops the sync.
 */
export async function guarded(ctx: EngineContext, path: string, work: () => Promise<void>): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (error) {
    const failure = toParecoError(error, path);
    if (isFatal(failure.code)) throw failure;
    if (failure.code === ErrorCode.SOURCE_CHANGED) {
      ctx.summary.filesChanged++;
      ctx.emit({ type: 'warning', path, code: failure.code, message: failure.message });
    } else {
      ctx.summary.filesFailed++;
      ctx.emit({ type: 'error', path, code: failure.code, message: failure.message });
    }
    return false;
  }
}

/** The event for a file brought up to date, with what it was before (for --itemize). */
export function fileEvent(src: Entry, dst: Entry | undefined, action: FileAction, bytesSent: number): SyncEvent {
  return {
    type: 'file',
    path: src.path,
    action,
    size: src.size,
    bytesSent,
    mtime: src.mtime,
    mode: src.mode,
    ...(dst?.kind === 'f' ? { before: { size: dst.size, mtime: dst.mtime, mode: dst.mode } } : {}),
  };
}

/** Counts a file found up to date (its metadata fixed or not) and reports it. */
export function countUpToDate(ctx: EngineContext, src: Entry, dst: Entry | undefined, metadataFixed: boolean): void {
  ctx.summary.filesSkipped++;
  ctx.summary.bytesSkipped += src.size;
  ctx.summary.chunksSkipped += Math.ceil(src.size / ctx.chunk);
  if (metadataFixed || ctx.reportUnchanged) {
    ctx.emit(fileEvent(src, dst, metadataFixed ? 'metadata' : 'uptodate', 0));
    return;
  }
  ctx.unreported.files++;
  ctx.unreported.bytes += src.size;
}

/** Reports the unchanged files counted since the last report, in one event. */
export function reportUpToDate(ctx: EngineContext): void {
  const { files, bytes } = ctx.unreported;
  if (files === 0) return;
  ctx.unreported = { files: 0, bytes: 0 };
  ctx.emit({ type: 'uptodate', files, bytes });
}
