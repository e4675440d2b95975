import { ErrorCode, LIMITS, ParecoError, type Entry } from '../../protocol/index.js';
import type { DigestList, Tree } from '../fs/tree.js';
import type { ByteWindow } from './byte-window.js';
import { forEachLimited } from './bounded-parallel.js';
import type { SyncEvent, SyncSummary } from './sync-report.js';

export interface TransferContext {
  source: Tree;
  dest: Tree;
  chunk: number;
  skipDigest: boolean;
  window: ByteWindow;
  summary: SyncSummary;
  emit: (event: SyncEvent) => void;
}

/** Digest batches of one file requested at once (they spread over the lanes). */
const DIGEST_BATCHES_IN_FLIGHT = 4;

/** Same mtime at millisecond precision, the precision every platform keeps. */
export function sameMtime(a: number, b: number): boolean {
  return Math.floor(a) === Math.floor(b);
}

/**
 * Brings one regular file up to date at the destination: compares chunk digests of both sides
 * (unless the destination has no file), sends only the chunks that differ, and commits it with
 * the source's metadata. A file whose data already matches only has its metadata fixed.
 */
export async function transferFile(ctx: TransferContext, src: Entry, dst: Entry | undefined, hasPartial = false): Promise<void> {
  const { chunk, summary } = ctx;
  const count = Math.ceil(src.size / chunk);
  const meta = { mtime: src.mtime, mode: src.mode };
  let sourceDigests: Buffer[] | undefined;
  let send: number[];

  if (dst?.kind === 'f' || hasPartial) {
    if (dst?.kind === 'f' && ctx.skipDigest && dst.size === src.size && sameMtime(dst.mtime, src.mtime)) {
      if (dst.mode !== src.mode) await ctx.dest.setMeta(src.path, meta);
      skipped(ctx, src, dst.mode !== src.mode, count);
      return;
    }
    const [theirs, ours] = await Promise.all([
      fromSource(src.path, allDigests(ctx.source, src.path, count)),
      allDigests(ctx.dest, src.path, count),
    ]);
    sourceDigests = theirs.digests;
    send = [];
    for (let i = 0; i < count; i++) if (!ours.digests[i]?.equals(theirs.digests[i]!)) send.push(i);
    if (dst?.kind === 'f' && send.length === 0 && ours.size === src.size && !ours.partial) {
      const metaDiffers = dst.mode !== src.mode || !sameMtime(dst.mtime, src.mtime);
      if (metaDiffers) await ctx.dest.setMeta(src.path, meta);
      skipped(ctx, src, metaDiffers, count);
      return;
    }
  } else {
    send = Array.from({ length: count }, (_, i) => i);
  }

  await ctx.dest.begin(src.path, src.size);
  let bytesSent = 0;
  let changed = false;
  let failure: { error: unknown } | undefined;
  const tasks: Promise<void>[] = [];
  // Chunks go out as fast as the shared window allows, across all lanes, without awaiting each.
  for (const index of send) {
    const offset = index * chunk;
    const length = Math.min(chunk, src.size - offset);
    await ctx.window.acquire(length);
    if (failure !== undefined) {
      ctx.window.release(length);
      break;
    }
    tasks.push(
      (async () => {
        try {
          const { data, digest } = await fromSource(src.path, ctx.source.read(src.path, offset, length));
          if (data.length !== length || (sourceDigests !== undefined && !digest.equals(sourceDigests[index]!))) changed = true;
          if (data.length > 0) await ctx.dest.write(src.path, offset, data, digest);
          bytesSent += data.length;
          summary.bytesTransferred += data.length;
          summary.chunksTransferred++;
          ctx.emit({ type: 'chunk', path: src.path, offset, length: data.length });
        } catch (error) {
          failure ??= { error };
        } finally {
          ctx.window.release(length);
        }
      })(),
    );
  }
  await Promise.all(tasks);
  if (failure !== undefined) throw failure.error;

  const now = await fromSource(src.path, ctx.source.stat(src.path));
  if (now === null) throw vanished(src.path);
  if (now.size !== src.size || !sameMtime(now.mtime, src.mtime)) changed = true;

  await ctx.dest.commit(src.path, src.size, meta);
  summary.filesTransferred++;
  summary.chunksSkipped += count - send.length;
  summary.bytesSkipped += Math.max(0, src.size - bytesSent);
  ctx.emit({ type: 'file', path: src.path, action: dst?.kind === 'f' ? 'update' : 'new', size: src.size, bytesSent });
  if (changed) {
    throw new ParecoError(ErrorCode.SOURCE_CHANGED, `${src.path}: file changed while it was being copied`);
  }
}

function skipped(ctx: TransferContext, src: Entry, metadataFixed: boolean, count: number): void {
  ctx.summary.filesSkipped++;
  ctx.summary.bytesSkipped += src.size;
  ctx.summary.chunksSkipped += count;
  ctx.emit({ type: 'file', path: src.path, action: metadataFixed ? 'metadata' : 'uptodate', size: src.size, bytesSent: 0 });
}

/** All digests of the first `count` chunks, asked in batches that run in parallel. */
async function allDigests(tree: Tree, path: string, count: number): Promise<DigestList> {
  const batches: { from: number; count: number }[] = [];
  for (let from = 0; from < count; from += LIMITS.hashBatch) batches.push({ from, count: Math.min(LIMITS.hashBatch, count - from) });
  if (batches.length === 0) return tree.digests(path, 0, 0);
  const results: DigestList[] = new Array(batches.length);
  await forEachLimited(batches.keys(), DIGEST_BATCHES_IN_FLIGHT, async (i) => {
    results[i] = await tree.digests(path, batches[i]!.from, batches[i]!.count);
  });
  return { size: results[0]!.size, partial: results[0]!.partial, digests: results.flatMap((r) => r.digests) };
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
