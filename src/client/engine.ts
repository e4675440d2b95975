import { ErrorCode, LIMITS, ParecoError, type Entry } from '../../protocol/index.js';
import type { ListOptions } from '../fs/tree.js';
import { ByteWindow } from './byte-window.js';
import { DeletionQueue, runDeletions } from './deletions.js';
import { DirectoryTracker, type DirectoryFrame } from './directory-tracker.js';
import { act, type ActionDeps } from './entry-actions.js';
import { sameMtime } from './entry-decision.js';
import { guarded, reportUpToDate, type EngineContext } from './engine-context.js';
import { mergeListings } from './listing-merge.js';
import { SmallFileBatches } from './small-file-batches.js';

/**
 * Entries with work under way at once. The listings are read only as fast as work finishes,
 * so this (with the byte window and the batches) is what bounds the client's memory: never
 * the number of files in the trees.
 */
const TASKS_IN_FLIGHT = 4096;
/** The source's totals so far are reported at most this often while it is listed. */
const PLAN_INTERVAL_MS = 200;

export interface EngineListings {
  source: ListOptions;
  dest: ListOptions;
}

/**
 * A sync of the two trees of `ctx`, in phases: the listings are merged as they arrive and each
 * path is decided and carried out at once (new small files by the batch, big files chunk by
 * chunk over all lanes), directories get their metadata when their work is done, and the
 * deletions held meanwhile are carried out at the end, only if nothing failed.
 */
export async function runEngine(ctx: EngineContext, listings: EngineListings): Promise<void> {
  const deletions = new DeletionQueue();
  const fatal: { error?: unknown } = {};
  const tasks = new Set<Promise<void>>();
  const gate = new ByteWindow(TASKS_IN_FLIGHT);
  /** Starts an entry's work: counted in its directory, bounded, its failure reported. */
  const start = (path: string, work: Promise<void>, parent: DirectoryFrame | undefined) => {
    const task = track(ctx, path, work, fatal).finally(() => {
      gate.release(1);
      tasks.delete(task);
    });
    tasks.add(task);
    tracker.track(parent, task);
    return task;
  };
  const tracker: DirectoryTracker = new DirectoryTracker({
    // A new directory nothing went into is created now; its metadata waits for that.
    leave: (frame) => {
      if (frame.create === undefined || frame.started > 0) return;
      gate.take(1);
      frame.ready = start(frame.path, frame.create(), frame.parent);
    },
    finish: (frame) => finishDirectory(ctx, frame, fatal),
  });
  const deps: ActionDeps = {
    ctx,
    tracker,
    batches: new SmallFileBatches(ctx),
    deletions,
    // A batch holds a few small files; a file of more than 1 MiB goes chunk by chunk instead.
    smallFile: Math.min(ctx.chunk, LIMITS.maxBatchBytes / 8),
  };
  const plan = new PlanReporter(ctx);
  try {
    let replaced: string | undefined;
    for await (const pairs of mergeListings(ctx.source.list(listings.source), ctx.dest.list(listings.dest))) {
      for (const pair of pairs) {
        if ('error' in fatal) throw fatal.error;
        if (ctx.cancellation.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
        tracker.moveTo(pair.path);
        plan.count(pair.src);
        // What was inside a destination directory that a file or symlink replaces is gone with it.
        if (replaced !== undefined && pair.src === undefined && pair.path.startsWith(replaced)) continue;
        replaced = pair.dst?.kind === 'd' && pair.src !== undefined && pair.src.kind !== 'd' && pair.src.kind !== 'x' ? `${pair.path}/` : undefined;
        const parent = tracker.current;
        const work = act(deps, pair, parent);
        if (work === undefined) continue;
        await gate.acquire(1);
        start(pair.path, work, parent);
      }
      reportUpToDate(ctx);
      plan.report(false);
    }
    plan.report(true);
    await Promise.all(tasks);
    await tracker.finish();
    if ('error' in fatal) throw fatal.error;
    await runDeletions(ctx, deletions);
  } finally {
    reportUpToDate(ctx);
    deletions.dispose();
  }
}

/** Runs one entry's work: its own failure is reported; a fatal one is kept to stop the sync. */
function track(ctx: EngineContext, path: string, work: Promise<void>, fatal: { error?: unknown }): Promise<void> {
  return guarded(ctx, path, () => work).then(
    () => {},
    (error: unknown) => {
      if (!('error' in fatal)) fatal.error = error;
    },
  );
}

/**
 * A directory whose work is done gets the source's mode and mtime, when they differ or when
 * something inside changed its mtime. One that could not be created was reported already.
 */
async function finishDirectory(ctx: EngineContext, frame: DirectoryFrame, fatal: { error?: unknown }): Promise<void> {
  const created = await frame.ready.then(
    () => true,
    () => false,
  );
  if (!created || 'error' in fatal) return;
  const { src, dst } = frame;
  const differs = dst === undefined || dst.mode !== src.mode || !sameMtime(dst.mtime, src.mtime);
  if (!differs && !frame.touched) return;
  try {
    await guarded(ctx, frame.path, () => ctx.dest.setMeta(frame.path, { mtime: src.mtime, mode: src.mode }));
  } catch (error) {
    if (!('error' in fatal)) fatal.error = error;
  }
}

/**
 * The source's totals as the listing goes: every regular file counts once listed. Reported
 * every PLAN_INTERVAL_MS at most, and once complete.
 */
class PlanReporter {
  readonly #ctx: EngineContext;
  #reported = { files: -1, at: 0 };

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  count(src: Entry | undefined): void {
    if (src?.kind !== 'f') return;
    this.#ctx.summary.filesTotal++;
    this.#ctx.summary.bytesTotal += src.size;
  }

  report(complete: boolean): void {
    const { filesTotal: files, bytesTotal: bytes } = this.#ctx.summary;
    const now = performance.now();
    if (!complete && (files === this.#reported.files || now - this.#reported.at < PLAN_INTERVAL_MS)) return;
    this.#reported = { files, at: now };
    this.#ctx.emit({ type: 'plan', files, bytes, complete });
  }
}
