import { ErrorCode, LIMITS, ParecoError, type Entry } from '../../protocol/index.js';
import type { DigestList, Tree } from '../fs/tree.js';
import { forEachLimited } from './bounded-parallel.js';
import { sameMtime } from './entry-decision.js';
import { countUpToDate, fileEvent, type EngineContext } from './engine-context.js';

/** Digest batches of one file requested at once (they spread over the lanes). */
const DIGEST_BATCHES_IN_FLIGHT = 4;
/** Data hashed for one digest request at most, so that each answer comes well within --timeout. */
const DIGEST_BATCH_BYTES = 256 * 1024 * 1024;
/** Data hashed for a file's first digest request (see digestBatches). */
const FIRST_DIGEST_BATCH_BYTES = 16 * 1024 * 1024;

/** A byte range to send, and the range digest the source had when it was compared. */
interface Run {
  offset: number;
  length: number;
  expected?: Buffer;
}

/** Both sides' chunk digests of a file, and the chunks whose digests differ. */
export interface Comparison {
  source: Buffer[];
  dest: DigestList;
  send: number[];
}

/** What became of a compared file. */
export type Outcome = 'uptodate' | 'metadata' | 'transferred';

/**
 * Brings one regular file up to date chunk by chunk. A new file (`write`) has every chunk read
 * and written; its writes carry its size, so the destination begins it with the first that
 * arrives. Otherwise (`compare`) the chunk digests of both sides are compared; inside each
 * differing chunk, block digests are compared and only differing runs of blocks are sent; a
 * file whose data already matches only has its metadata fixed. Counts and reports the file.
 */
export async function transferFile(ctx: EngineContext, src: Entry, dst: Entry | undefined, plan: 'write' | 'compare'): Promise<Outcome> {
  const { chunk, summary } = ctx;
  const count = Math.ceil(src.size / chunk);
  const meta = { mtime: src.mtime, mode: src.mode };
  let comparison: Comparison | undefined;
  let send: number[];
  // An existing file is prepared (its target copied into the partial file, which takes a while
  // for a big one) from the moment it is known to differ: while the rest of it is compared,
  // chunk by chunk and then block by block. The destination makes writes wait for it. A new
  // file needs no begin: its first write begins it.
  let begun: Promise<void> | undefined;
  const begin = () => {
    if (begun !== undefined) return;
    begun = ctx.dest.begin(src.path, src.size);
    begun.catch(() => {}); // awaited below; a failure is thrown there
  };
  if (plan === 'compare') {
    if (dst?.kind === 'f' && dst.size !== src.size) begin();
    comparison = await compareDigests(ctx, src, dst, count, begin);
    send = comparison.send;
    if (dst?.kind === 'f' && send.length === 0 && comparison.dest.size === src.size && !comparison.dest.partial) {
      return fixMetadata(ctx, src, dst);
    }
    begin();
  } else {
    send = Array.from({ length: count }, (_, i) => i);
  }
  const sent = await sendChunks(ctx, src, send, comparison);
  await begun;
  // A new file with nothing written (its source emptied meanwhile) was never begun.
  if (plan === 'write' && sent.bytes === 0) await ctx.dest.begin(src.path, src.size);
  await ctx.dest.commit(src.path, src.size, meta);
  summary.filesTransferred++;
  summary.chunksSkipped += count - send.length;
  summary.bytesSkipped += Math.max(0, src.size - sent.bytes);
  ctx.emit(fileEvent(src, dst, dst?.kind === 'f' ? 'update' : 'new', sent.bytes));
  if (sent.changed) throw changedError(src.path);
  return 'transferred';
}

/** A file whose data matches: its mode and mtime fixed if they differ, counted as up to date. */
export async function fixMetadata(ctx: EngineContext, src: Entry, dst: Entry): Promise<Outcome> {
  const differs = dst.mode !== src.mode || !sameMtime(dst.mtime, src.mtime);
  if (differs) await ctx.dest.setMeta(src.path, { mtime: src.mtime, mode: src.mode });
  countUpToDate(ctx, src, dst, differs);
  return differs ? 'metadata' : 'uptodate';
}

/**
 * Sends the chunks `send` as fast as the shared window allows, across all lanes, without
 * awaiting each. A chunk the destination has is first compared block by block; the window then
 * holds only the bytes that differ, so a scattered change keeps many comparisons in flight (one
 * round trip each) instead of reserving a whole chunk of window for a few blocks.
 */
async function sendChunks(ctx: EngineContext, src: Entry, send: number[], compared: Comparison | undefined): Promise<{ bytes: number; changed: boolean }> {
  const { chunk } = ctx;
  const sent = { bytes: 0, changed: false };
  let failure: { error: unknown } | undefined;
  const tasks: Promise<void>[] = [];
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
            runs = [{ offset, length, ...(compared?.source[index] === undefined ? {} : { expected: compared.source[index] }) }];
          }
          // Not waiting for the begin's answer: the destination holds writes until the file is
          // begun (one round trip less before the data flows).
          await Promise.all(runs.map((run) => sendRun(ctx, src, run, sent)));
          ctx.summary.chunksTransferred++;
        } catch (error) {
          failure ??= { error };
        } finally {
          ctx.window.release(held);
        }
      })(),
    );
  }
  await Promise.all(tasks);
  if (failure !== undefined) throw failure.error;
  return sent;
}

/** Reads one run from the source and writes it at the destination, noting a source that changed. */
async function sendRun(ctx: EngineContext, src: Entry, run: Run, sent: { bytes: number; changed: boolean }): Promise<void> {
  if (ctx.dryRun) {
    sent.bytes += run.length;
    ctx.summary.bytesTransferred += run.length;
    ctx.emit({ type: 'chunk', path: src.path, offset: run.offset, length: run.length });
    return;
  }
  await ctx.rate?.take(run.length, ctx.cancellation);
  const got = await fromSource(src.path, ctx.source.read(src.path, run.offset, run.length));
  if (got.data.length !== run.length || got.size !== src.size || !sameMtime(got.mtime, src.mtime) || (run.expected !== undefined && !got.digest.equals(run.expected))) {
    sent.changed = true;
  }
  try {
    if (got.data.length > 0) await ctx.dest.write(src.path, run.offset, src.size, got.data, got.digest);
  } finally {
    got.release?.();
  }
  sent.bytes += got.data.length;
  ctx.summary.bytesTransferred += got.data.length;
  ctx.emit({ type: 'chunk', path: src.path, offset: run.offset, length: got.data.length });
}

/** Compares the block digests of one chunk on both sides and returns the runs that differ. */
async function differingRuns(ctx: EngineContext, path: string, index: number, offset: number, length: number): Promise<Run[]> {
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
      runs.push({ offset: runOffset, length: runEnd - runOffset, expected: range.combine(theirs.subarray(start * range.size, b * range.size)) });
      start = -1;
    }
  }
  return runs;
}

/**
 * The digests of `count` chunks from `from` of one side's file: from its listing entry when it
 * came with one (a small file listed with digests), else asked of the tree.
 */
export function digestsOf(tree: Tree, entry: Entry | undefined, path: string, from: number, count: number): Promise<DigestList> {
  if (entry?.digest !== undefined && from === 0 && count <= 1) {
    return Promise.resolve({ size: entry.size, partial: entry.partial === true || entry.kind === 'p', digests: count === 0 ? [] : [entry.digest] });
  }
  return tree.digests(path, from, count);
}

/**
 * Both sides' digests of the file's `count` chunks, asked in batches that run in parallel, and
 * the chunks to send (those whose digests differ). A file of several batches reports each
 * batch's matching bytes as they are found (`matched`), so that progress moves while a huge,
 * mostly unchanged file is being compared.
 */
export async function compareDigests(ctx: EngineContext, src: Entry, dst: Entry | undefined, count: number, differs?: () => void): Promise<Comparison> {
  const { chunk } = ctx;
  const batches = digestBatches(count, chunk);
  const theirs: Buffer[][] = new Array(batches.length);
  const ours: DigestList[] = new Array(batches.length);
  const sends: number[][] = new Array(batches.length);
  await forEachLimited(batches.keys(), DIGEST_BATCHES_IN_FLIGHT, async (i) => {
    const { from, count: n } = batches[i]!;
    const [source, dest] = await Promise.all([
      fromSource(src.path, digestsOf(ctx.source, src, src.path, from, n)),
      digestsOf(ctx.dest, dst, src.path, from, n),
    ]);
    theirs[i] = source.digests;
    ours[i] = dest;
    const send: number[] = [];
    let matched = 0;
    for (let k = 0; k < n; k++) {
      if (dest.digests[k]?.equals(source.digests[k]!)) matched += Math.min(chunk, src.size - (from + k) * chunk);
      else send.push(from + k);
    }
    sends[i] = send;
    if (send.length > 0) differs?.();
    if (batches.length > 1 && matched > 0) ctx.emit({ type: 'matched', path: src.path, bytes: matched });
  });
  const dest = { size: ours[0]!.size, partial: ours[0]!.partial, digests: ours.flatMap((r) => r.digests) };
  return { source: theirs.flat(), dest, send: sends.flat() };
}

/**
 * The digest requests for a file of `count` chunks: at most DIGEST_BATCH_BYTES each, the first
 * ones smaller (FIRST_DIGEST_BATCH_BYTES, then doubling), so that a change near the start of a
 * big file is known early, while the rest of it is still being hashed.
 */
export function digestBatches(count: number, chunk: number): { from: number; count: number }[] {
  const most = Math.max(1, Math.min(LIMITS.hashBatch, Math.floor(DIGEST_BATCH_BYTES / chunk)));
  let next = Math.max(1, Math.min(most, Math.floor(FIRST_DIGEST_BATCH_BYTES / chunk)));
  const batches: { from: number; count: number }[] = [];
  for (let from = 0; from < count; from += batches.at(-1)!.count) {
    batches.push({ from, count: Math.min(next, count - from) });
    next = Math.min(most, next * 2);
  }
  if (batches.length === 0) batches.push({ from: 0, count: 0 });
  return batches;
}

export function changedError(path: string): ParecoError {
  return new ParecoError(ErrorCode.SOURCE_CHANGED, `${path}: file changed while it was being copied`);
}

function vanished(path: string): ParecoError {
  return new ParecoError(ErrorCode.SOURCE_CHANGED, `${path}: file vanished while it was being copied`);
}

/** A source file that disappears under us is a warning (exit 24), not a failure. */
export async function fromSource<T>(path: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof ParecoError && error.code === ErrorCode.NOT_FOUND) throw vanished(path);
    throw error;
  }
}
