import { ErrorCode, type Entry } from '../../protocol/index.js';
import type { DeletionQueue } from './deletions.js';
import type { DirectoryFrame, DirectoryTracker } from './directory-tracker.js';
import { decide, sameMtime, type Decision } from './entry-decision.js';
import { countUpToDate, fileEvent, type EngineContext } from './engine-context.js';
import { changedError, compareDigests, fixMetadata, transferFile, type Outcome } from './file-transfer.js';
import type { Pair } from './listing-merge.js';
import type { SmallFileBatches } from './small-file-batches.js';

/** A changed file at most this big is sent whole (one request in a batch) rather than block by block. */
const WHOLE_BELOW = 64 * 1024;

/** What carrying out the decisions needs besides the context. */
export interface ActionDeps {
  ctx: EngineContext;
  tracker: DirectoryTracker;
  batches: SmallFileBatches;
  deletions: DeletionQueue;
  /** Files up to this size are new small files, put by the batch. */
  smallFile: number;
}

/**
 * Carries out the decision for one pair of entries. Returns the work it started (the caller
 * tracks it, bounds how much runs at once and handles its failure), or undefined when there was
 * nothing to wait for. `parent` is the source directory holding the entry.
 */
export function act(deps: ActionDeps, pair: Pair, parent: DirectoryFrame | undefined): Promise<void> | undefined {
  const { ctx } = deps;
  const decision = decide(pair, { smallFile: deps.smallFile, skipDigest: ctx.skipDigest, inplace: ctx.inplace });
  const { src, dst, path } = pair;
  const ready = parent?.gate ?? Promise.resolve();
  switch (decision.kind) {
    case 'unreadable':
      ctx.summary.filesFailed++;
      ctx.emit({ type: 'error', path, code: ErrorCode.IO, message: decision.entry.error ?? `${path}: cannot be read` });
      // A source directory listed at least enters the path, so what it holds has a parent.
      if (src?.kind === 'd') deps.tracker.enter(src, undefined, ready, ready);
      return undefined;
    case 'special':
      ctx.emit({ type: 'warning', path, code: ErrorCode.SPECIAL_FILE, message: `${path}: skipping special file (not a regular file, directory or symlink)` });
      return undefined;
    case 'directory':
      return directory(deps, src!, dst, decision, parent);
    case 'symlink':
      return ready.then(() => symlink(deps, src!, dst, decision, parent));
    case 'file':
      return ready.then(() => file(deps, src!, dst, decision, parent));
    case 'uptodate':
      return upToDate(deps, src!, dst!, decision.fixMeta);
    case 'extra':
    case 'stale-partial':
      extra(deps, dst!, decision, parent);
      return undefined;
  }
}

/** Enters a source directory; creating it (after clearing the way) is work its contents wait for. */
function directory(deps: ActionDeps, src: Entry, dst: Entry | undefined, decision: Extract<Decision, { kind: 'directory' }>, parent: DirectoryFrame | undefined): Promise<void> | undefined {
  const { ctx, tracker } = deps;
  const parentGate = parent?.gate ?? Promise.resolve();
  // The root always exists (a dry run into a directory that does not exist pretends it does).
  if (!decision.create || src.path === '') {
    tracker.enter(src, dst, parentGate, parentGate);
    return undefined;
  }
  if (parent !== undefined) parent.touched = true;
  ctx.emit({ type: 'mkdir', path: src.path });
  if (!decision.replace) {
    // Work inside goes at once and creates it (the destination makes missing parents): only a
    // directory nothing goes into is created by a request of its own, when the listings leave it.
    tracker.enter(src, undefined, parentGate, parentGate, () => ctx.dest.mkdir(src.path));
    return undefined;
  }
  // Something else is in the way: removed first, and what goes inside waits for that.
  const created = parentGate.then(async () => {
    await clearWay(deps, dst!, parent);
    await ctx.dest.mkdir(src.path);
  });
  created.catch(() => {}); // reported through the returned work
  tracker.enter(src, undefined, created, created);
  return created;
}

async function symlink(deps: ActionDeps, src: Entry, dst: Entry | undefined, decision: Extract<Decision, { kind: 'symlink' }>, parent: DirectoryFrame | undefined): Promise<void> {
  const { ctx } = deps;
  if (!decision.create) {
    if (!sameMtime(dst!.mtime, src.mtime)) await ctx.dest.setMeta(src.path, { mtime: src.mtime, mode: src.mode });
    return;
  }
  if (decision.replace) await clearWay(deps, dst!, parent);
  await ctx.dest.symlink(src.path, src.target ?? '', src.mtime);
  if (parent !== undefined) parent.touched = true;
  ctx.emit({ type: 'symlink', path: src.path, target: src.target ?? '' });
}

/** A regular file: new small ones by the batch, new big ones chunk by chunk, others compared. */
async function file(deps: ActionDeps, src: Entry, dst: Entry | undefined, decision: Extract<Decision, { kind: 'file' }>, parent: DirectoryFrame | undefined): Promise<void> {
  const { ctx } = deps;
  if (decision.replace) await clearWay(deps, dst!, parent);
  const existing = decision.replace ? undefined : dst;
  let outcome: Outcome;
  if (decision.plan === 'put') outcome = await putWhole(deps, src, existing);
  else if (decision.plan === 'write') outcome = await transferFile(ctx, src, existing, 'write');
  else outcome = await compare(deps, src, existing!);
  if (outcome === 'transferred' && parent !== undefined) parent.touched = true;
  // The partial file of an interrupted run becomes the file when it is transferred; it is left
  // over when the file was in place already, or is written in place.
  const partial = dst?.partial === true || dst?.kind === 'p';
  if (partial && (outcome !== 'transferred' || ctx.inplace)) await ctx.dest.removePartial(src.path);
}

/**
 * A file the destination has (or has a partial file of): compared by chunk digests. A small one
 * that differs is sent whole by the batch; a bigger one block by block where it differs.
 */
async function compare(deps: ActionDeps, src: Entry, dst: Entry): Promise<Outcome> {
  const { ctx } = deps;
  const whole = src.size <= Math.max(WHOLE_BELOW, ctx.range.block) && src.size <= deps.smallFile;
  if (!whole) return transferFile(ctx, src, dst, 'compare');
  const comparison = await compareDigests(ctx, src, dst, Math.ceil(src.size / ctx.chunk));
  if (dst.kind === 'f' && comparison.send.length === 0 && comparison.dest.size === src.size && !comparison.dest.partial) return fixMetadata(ctx, src, dst);
  return putWhole(deps, src, dst);
}

/** A small file sent whole, by the batch. */
async function putWhole(deps: ActionDeps, src: Entry, dst: Entry | undefined): Promise<Outcome> {
  const { ctx } = deps;
  const { bytes, changed } = await deps.batches.put(src, Promise.resolve());
  ctx.summary.bytesTransferred += bytes;
  ctx.summary.filesTransferred++;
  if (bytes > 0) {
    ctx.summary.chunksTransferred++;
    ctx.emit({ type: 'chunk', path: src.path, offset: 0, length: bytes });
  }
  ctx.emit(fileEvent(src, dst, dst?.kind === 'f' ? 'update' : 'new', bytes));
  if (changed) throw changedError(src.path);
  return 'transferred';
}

/** Equal size and mtime with --skip-digest: counted at once; only a mode that differs costs a request. */
function upToDate(deps: ActionDeps, src: Entry, dst: Entry, fixMeta: boolean): Promise<void> | undefined {
  const { ctx } = deps;
  if (!fixMeta && dst.partial !== true) {
    countUpToDate(ctx, src, dst, false);
    return undefined;
  }
  return (async () => {
    if (fixMeta) await ctx.dest.setMeta(src.path, { mtime: src.mtime, mode: src.mode });
    countUpToDate(ctx, src, dst, fixMeta);
    if (dst.partial === true) await ctx.dest.removePartial(src.path);
  })();
}

/**
 * An entry only the destination has: held for deletion (with --delete-unexpected, if the
 * filters select it), and a partial file whose source is gone either held too or reported.
 */
function extra(deps: ActionDeps, dst: Entry, decision: Extract<Decision, { kind: 'extra' | 'stale-partial' }>, parent: DirectoryFrame | undefined): void {
  const { ctx, deletions } = deps;
  const holder = parent !== undefined && parentOf(dst.path) === parent.path ? { path: parent.path, meta: { mtime: parent.src.mtime, mode: parent.src.mode } } : undefined;
  const at = holder === undefined ? {} : { parent: holder };
  if (decision.kind === 'extra' && ctx.deletion.enabled && ctx.filter.selected(dst.path)) {
    deletions.add({ path: dst.path, kind: dst.kind === 'd' ? 'dir' : dst.kind === 'l' ? 'symlink' : 'file', ...at });
  }
  if (decision.kind === 'stale-partial' || dst.partial === true) {
    if (ctx.deletion.enabled) deletions.add({ path: dst.path, kind: 'partial', ...at });
    else {
      ctx.emit({
        type: 'warning',
        path: dst.path,
        code: ErrorCode.STALE_PARTIAL,
        message: `${dst.path}: the partial file of an interrupted transfer is kept, though its source is gone (--delete-unexpected removes it)`,
      });
    }
  }
}

/** Removes what is at the destination in place of an entry of another kind. */
async function clearWay(deps: ActionDeps, dst: Entry, parent: DirectoryFrame | undefined): Promise<void> {
  await deps.ctx.dest.remove(dst.path, dst.kind === 'd');
  if (parent !== undefined) parent.touched = true;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}
