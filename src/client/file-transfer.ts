import { ErrorCode, LIMITS, ParecoError, type Entry } from '../../protocol/index.js';
import type { DigestList, Tree } from '../fs/tree.js';
import type { RangeDigest } from '../digest/range-digest.js';
import type { Cancellation } from '../transport/cancellation.js';
import type { ByteWindow } from './byte-window.js';
import type { RateLimit } from './rate-limit.js';
import { forEachLimited } from './bounded-parallel.js';
import type { FileAction, SyncEvent, SyncSummary } from './sync-report.js';

export interface TransferContext {
  source: Tree;
  dest: Tree;
  chunk: number;
  range: RangeDigest;
  skipDigest: boolean;
  window: ByteWindow;
  /** Block comparisons (one request to each side) in flight, over all files. */
  compares: ByteWindow;
  /** Count what would be sent instead of reading and sending it. */
  dryRun: boolean;
  /** --bwlimit, shared by all lanes. */
  rate?: RateLimit;
  summary: SyncSummary;
  emit: (event: SyncEvent) => void;
  /** The user's interrupt. */
  cancellation: Cancellation;
}

/** Digest batches of one file requested at once (they spread over the lanes). */
const DIGEST_BATCHES_IN_FLIGHT = 4;
/** Data hashed for one digest request at most, so that each answer comes well within --timeout. */
const DIGEST_BATCH_BYTES = 256 * 1024 * 1024;

/** Same mtime at millisecond precision, the precision every platform keeps. */
export function sameMtime(a: number, b: number): boolean {
  return Math.floor(a) === Math.floor(b);
}

/** A byte range to send, and the range digest the source had when it was compared. */
interface Run {
  offset: number;
  length: number;
  expected?: Buffer;
}

/**
 * With --skip-digest, a file whose size, mtime and mode match at the destination is up to date:
 * counted and reported at once, with no request and nothing to wait for (a sync of 100,000
 * unchanged files spent most of its time on promises). True when it was.
 */
export function skippedByMetadata(ctx: TransferContext, src: Entry, dst: Entry | undefined): boolean {
  if (!ctx.skipDigest || src.kind !== 'f' || dst?.kind !== 'f') return false;
  if (dst.size !== src.size || !sameMtime(dst.mtime, src.mtime) || dst.mode !== src.mode) return false;
  skipped(ctx, src, dst, false, Math.ceil(src.size / ctx.chunk));
  return true;
}

/**
 * Brings one regular file up to date at the destination. With a file (or a partial file) there,
 * chunk digests of both sides are compared; inside each differing chunk, block digests are
 * compared and only differing runs of blocks are sent. A file whose data already matches only
 * has its metadata fixed. A new file that fits in one chunk goes in a single `put`.
 */
export async function transferFile(ctx: TransferContext, src: Entry, dst: Entry | undefined, hasPartial = false): Promise<void> {
  const { chunk, summary } = ctx;
  const count = Math.ceil(src.size / chunk);
  const meta = { mtime: src.mtime, mode: src.mode };
  let compared: { source: Buffer[]; dest: DigestList } | undefined;
  let send: number[];

  if (dst?.kind === 'f' || hasPartial) {
    if (skippedByMetadata(ctx, src, dst)) return;
    if (dst?.kind === 'f' && ctx.skipDigest && dst.size === src.size && sameMtime(dst.mtime, src.mtime)) {
      await ctx.dest.setMeta(src.path, meta); // only the mode differs
      skipped(ctx, src, dst, true, count);
      return;
    }
    const comparison = await compareDigests(ctx, src, count);
    compared = comparison;
    send = comparison.send;
    if (dst?.kind === 'f' && send.length === 0 && comparison.dest.size === src.size && !comparison.dest.partial) {
      const metaDiffers = dst.mode !== src.mode || !sameMtime(dst.mtime, src.mtime);
      if (metaDiffers) await ctx.dest.setMeta(src.path, meta);
      skipped(ctx, src, dst, metaDiffers, count);
      return;
    }
  } else if (src.size <= chunk) {
    await putSmallFile(ctx, src);
    return;
  } else {
    send = Array.from({ length: count }, (_, i) => i);
  }

  // The destination prepares the file (which may copy a big target into its partial file)
  // while the differing chunks are compared block by block; only writes wait for it.
  const begun = ctx.dest.begin(src.path, src.size);
  begun.catch(() => {}); // awaited below; a failure is thrown there
  let bytesSent = 0;
  let changed = false;
  let failure: { error: unknown } | undefined;
  const tasks: Promise<void>[] = [];

  const sendRun = async (run: Run) => {
    if (ctx.dryRun) {
      bytesSent += run.length;
      summary.bytesTransferred += run.length;
      ctx.emit({ type: 'chunk', path: src.path, offset: run.offset, length: run.length });
      return;
    }
    await ctx.rate?.take(run.length, ctx.cancellation);
    const got = await fromSource(src.path, ctx.source.read(src.path, run.offset, run.length));
    if (
      got.data.length !== run.length ||
      got.size !== src.size ||
      !sameMtime(got.mtime, src.mtime) ||
      (run.expected !== undefined && !got.digest.equals(run.expected))
    ) {
      changed = true;
    }
    try {
      if (got.data.length > 0) await ctx.dest.write(src.path, run.offset, got.data, got.digest);
    } finally {
      got.release?.();
    }
    bytesSent += got.data.length;
    summary.bytesTransferred += got.data.length;
    ctx.emit({ type: 'chunk', path: src.path, offset: run.offset, length: got.data.length });
  };

  // Chunks go out as fast as the shared window allows, across all lanes, without awaiting each.
  // A chunk the destination has is first compared block by block; the window then holds only
  // the bytes that differ, so a scattered change keeps many comparisons in flight (one round
  // trip each) instead of reserving a whole chunk of window for a few blocks.
  for (const index of send) {
    const offset = index * chunk;
    const length = Math.min(chunk, src.size - offset);
    const compare = compared !== undefined && index < compared.dest.digests.length;
    if (compare) await ctx.compares.acquire(1);
    else await ctx.window.acquire(length);
    if (failure === undefined && ctx.cancellation.cancelled) failure = { error: new ParecoError(ErrorCode.ABORTED, 'interrupted') };
    if (failure !== undefined) {
      if (compare) ctx.compares.release(1);
      else ctx.window.release(length);
      break;
    }
    tasks.push(
      (async () => {
        let held = compare ? 0 : length;
        try {
          let runs: Run[];
          if (compare) {
            // The comparison slot is held until the window is, so that chunks compared but
            // not yet sent stay bounded too (a rewritten 1 TiB file has a million of them).
            try {
              runs = await differingRuns(ctx, src.path, index, offset, length);
              const bytes = runs.reduce((sum, run) => sum + run.length, 0);
              await ctx.window.acquire(bytes);
              held = bytes;
            } finally {
              ctx.compares.release(1);
            }
          } else {
            runs = [{ offset, length, expected: compared?.source[index] }];
          }
          await begun;
          await Promise.all(runs.map(sendRun));
          summary.chunksTransferred++;
        } catch (error) {
          failure ??= { error };
        } finally {
          ctx.window.release(held);
        }
      })(),
    );
  }
  await Promise.all(tasks);
  await begun;
  if (failure !== undefined) throw failure.error;

  await ctx.dest.commit(src.path, src.size, meta);
  summary.filesTransferred++;
  summary.chunksSkipped += count - send.length;
  summary.bytesSkipped += Math.max(0, src.size - bytesSent);
  ctx.emit(fileEvent(src, dst, dst?.kind === 'f' ? 'update' : 'new', bytesSent));
  if (changed) throw changedError(src.path);
}

/** Compares the block digests of one chunk on both sides and returns the runs that differ. */
async function differingRuns(ctx: TransferContext, path: string, index: number, offset: number, length: number): Promise<Run[]> {
  const { range } = ctx;
  const [theirs, ours] = await Promise.all([fromSource(path, ctx.source.blockDigests(path, index)), ctx.dest.blockDigests(path, index)]);
  const blocks = Math.ceil(length / range.block);
  const runs: Run[] = [];
  let start = -1;
  for (let b = 0; b <= blocks; b++) {
    const differs = b < blocks && !range.at(ours, b)?.equals(range.at(theirs, b) ?? Buffer.alloc(0));
    if (differs && start < 0) start = b;
    if (!differs && start >= 0) {
      const runOffset = offset + start * range.block;
      const runEnd = Math.min(offset + b * range.block, offset + length);
      runs.push({
        offset: runOffset,
        length: runEnd - runOffset,
        expected: range.combine(theirs.subarray(start * range.size, b * range.size)),
      });
      start = -1;
    }
  }
  return runs;
}

/** A new file that fits in one chunk: read it and send it whole in one request. */
async function putSmallFile(ctx: TransferContext, src: Entry): Promise<void> {
  if (ctx.dryRun) {
    ctx.summary.bytesTransferred += src.size;
    ctx.summary.filesTransferred++;
    if (src.size > 0) ctx.summary.chunksTransferred++;
    ctx.emit(fileEvent(src, undefined, 'new', src.size));
    return;
  }
  await ctx.rate?.take(src.size, ctx.cancellation);
  await ctx.window.acquire(src.size);
  let changed: boolean;
  try {
    const got = await fromSource(src.path, ctx.source.read(src.path, 0, src.size));
    changed = got.data.length !== src.size || got.size !== src.size || !sameMtime(got.mtime, src.mtime);
    try {
      await ctx.dest.put(src.path, got.data, got.digest, { mtime: src.mtime, mode: src.mode });
    } finally {
      got.release?.();
    }
    ctx.summary.bytesTransferred += got.data.length;
    ctx.summary.filesTransferred++;
    if (src.size > 0) {
      ctx.summary.chunksTransferred++;
      ctx.emit({ type: 'chunk', path: src.path, offset: 0, length: got.data.length });
    }
    ctx.emit(fileEvent(src, undefined, 'new', got.data.length));
  } finally {
    ctx.window.release(src.size);
  }
  if (changed) throw changedError(src.path);
}

function changedError(path: string): ParecoError {
  return new ParecoError(ErrorCode.SOURCE_CHANGED, `${path}: file changed while it was being copied`);
}

/** The event for a file brought up to date, with what it was before (for --itemize). */
function fileEvent(src: Entry, dst: Entry | undefined, action: FileAction, bytesSent: number): SyncEvent {
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

function skipped(ctx: TransferContext, src: Entry, dst: Entry, metadataFixed: boolean, count: number): void {
  ctx.summary.filesSkipped++;
  ctx.summary.bytesSkipped += src.size;
  ctx.summary.chunksSkipped += count;
  ctx.emit(fileEvent(src, dst, metadataFixed ? 'metadata' : 'uptodate', 0));
}

/**
 * Both sides' digests of the file's `count` chunks, asked in batches that run in parallel, and
 * the chunks to send (those whose digests differ). A file of several batches reports each
 * batch's matching bytes as they are found (`matched`), so that progress moves while a huge,
 * mostly unchanged file is being compared.
 */
async function compareDigests(ctx: TransferContext, src: Entry, count: number): Promise<{ source: Buffer[]; dest: DigestList; send: number[] }> {
  const { chunk } = ctx;
  const batches: { from: number; count: number }[] = [];
  const per = Math.max(1, Math.min(LIMITS.hashBatch, Math.floor(DIGEST_BATCH_BYTES / chunk)));
  for (let from = 0; from < count; from += per) batches.push({ from, count: Math.min(per, count - from) });
  if (batches.length === 0) batches.push({ from: 0, count: 0 });
  const theirs: Buffer[][] = new Array(batches.length);
  const ours: DigestList[] = new Array(batches.length);
  const sends: number[][] = new Array(batches.length);
  await forEachLimited(batches.keys(), DIGEST_BATCHES_IN_FLIGHT, async (i) => {
    const { from, count: n } = batches[i]!;
    const [source, dest] = await Promise.all([fromSource(src.path, ctx.source.digests(src.path, from, n)), ctx.dest.digests(src.path, from, n)]);
    theirs[i] = source.digests;
    ours[i] = dest;
    const send: number[] = [];
    let matched = 0;
    for (let k = 0; k < n; k++) {
      if (dest.digests[k]?.equals(source.digests[k]!)) matched += Math.min(chunk, src.size - (from + k) * chunk);
      else send.push(from + k);
    }
    sends[i] = send;
    if (batches.length > 1 && matched > 0) ctx.emit({ type: 'matched', path: src.path, bytes: matched });
  });
  const dest = { size: ours[0]!.size, partial: ours[0]!.partial, digests: ours.flatMap((r) => r.digests) };
  return { source: theirs.flat(), dest, send: sends.flat() };
}

function vanished(path: string): ParecoError {
  return new ParecoError(ErrorCode.SOURCE_CHANGED, `${path}: file vanished while it was being copied`);
}

/** A source file that disappears under us is a warning (exit 24), not a failure. */
async function fromSource<T>(path: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof ParecoError && error.code === ErrorCode.NOT_FOUND) throw vanished(path);
    throw error;
  }
}
