import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ParecoError } from '../../protocol/index.js';
import type { Meta } from '../fs/tree.js';
import { guarded, type EngineContext } from './engine-context.js';

/** One entry to delete at the destination, found during the merge. */
export interface Deletion {
  path: string;
  /** What it is: a partial file is that of an interrupted transfer whose source is gone. */
  kind: 'file' | 'dir' | 'symlink' | 'partial';
  /** The source directory holding it, whose metadata is applied again after the deletions. */
  parent?: { path: string; meta: Meta };
}

/** Deletions per segment; segments beyond MEMORY_SEGMENTS go to a temporary file. */
const SEGMENT = 1000;
const MEMORY_SEGMENTS = 16;

/**
 * The deletions a sync holds until its transfers are done (they happen only if nothing failed,
 * all or nothing under --max-delete). In memory up to 16,000 entries, then spilled to a
 * temporary file segment by segment, so that deleting a million-file tree costs disk, not
 * memory. They come back newest first: the listings are depth first, so reversed, a directory's
 * contents come before the directory.
 */
export class DeletionQueue {
  #memory: Deletion[][] = [[]];
  /** Spilled segments: where each lies in the file. */
  readonly #spilled: { offset: number; length: number }[] = [];
  #file: { dir: string; fd: number; size: number } | undefined;
  #count = 0;
  #partials = 0;

  /** Everything held. */
  get count(): number {
    return this.#count;
  }

  /** What --max-delete counts: entries of the tree, not the partial files of interrupted runs. */
  get entries(): number {
    return this.#count - this.#partials;
  }

  add(deletion: Deletion): void {
    let last = this.#memory.at(-1)!;
    if (last.length >= SEGMENT) this.#memory.push((last = []));
    last.push(deletion);
    this.#count++;
    if (deletion.kind === 'partial') this.#partials++;
    if (this.#memory.length > MEMORY_SEGMENTS) this.#spill(this.#memory.shift()!);
  }

  /** Every deletion, newest first, a segment at a time. */
  *newestFirst(): Generator<Deletion[]> {
    for (let i = this.#memory.length - 1; i >= 0; i--) yield [...this.#memory[i]!].reverse();
    for (let i = this.#spilled.length - 1; i >= 0; i--) {
      const { offset, length } = this.#spilled[i]!;
      const bytes = Buffer.allocUnsafe(length);
      readSync(this.#file!.fd, bytes, 0, length, offset);
      yield (JSON.parse(bytes.toString('utf8')) as Deletion[]).reverse();
    }
  }

  /** Removes the temporary file, if any. */
  dispose(): void {
    if (this.#file === undefined) return;
    closeSync(this.#file.fd);
    rmSync(this.#file.dir, { recursive: true, force: true });
    this.#file = undefined;
  }

  #spill(segment: Deletion[]): void {
    if (this.#file === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'pareco-deletions-'));
      this.#file = { dir, fd: openSync(join(dir, 'queue'), 'w+', 0o600), size: 0 };
    }
    // JSON keeps names that are not UTF-8 exact: their lone surrogates are escaped as \udcXX.
    const bytes = Buffer.from(JSON.stringify(segment), 'utf8');
    writeSync(this.#file.fd, bytes, 0, bytes.length, this.#file.size);
    this.#spilled.push({ offset: this.#file.size, length: bytes.length });
    this.#file.size += bytes.length;
  }
}

/** Deletions of files and symlinks run at once, one directory at a time (its contents go first). */
const DELETIONS_IN_FLIGHT = 64;

/**
 * Carries out the held deletions once every transfer is done: only if no entry failed (a file
 * that could not be read must not be deleted at the destination for that), and all or nothing
 * under --max-delete. A directory that still holds entries the filters protect stays. The source
 * directories that held deleted entries get their metadata back (a deletion changes a mtime).
 */
export async function runDeletions(ctx: EngineContext, queue: DeletionQueue): Promise<void> {
  const { summary, emit } = ctx;
  if (queue.count === 0) return;
  if (summary.filesFailed > 0) {
    emit({ type: 'warning', code: ErrorCode.DELETE_SKIPPED, message: 'not deleting anything because some files failed' });
    return;
  }
  const max = ctx.deletion.max;
  const entries = queue.entries;
  if (max !== undefined && entries > max) {
    summary.deletionsRefused = entries;
    emit({ type: 'warning', code: ErrorCode.DELETE_LIMIT, message: `not deleting anything: ${entries} entries would be deleted, more than --max-delete ${max}` });
    return;
  }
  const holders = new Map<string, Meta>();
  const inFlight = new Set<Promise<void>>();
  for (const segment of queue.newestFirst()) {
    for (const deletion of segment) {
      if (ctx.cancellation.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
      // A directory goes only after everything in it: wait for what is under way.
      if (deletion.kind === 'dir' || inFlight.size >= DELETIONS_IN_FLIGHT) await Promise.all(inFlight);
      const work = guarded(ctx, deletion.path, () => remove(ctx, deletion, holders)).then(() => {});
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }
  }
  await Promise.all(inFlight);
  for (const [path, meta] of holders) await guarded(ctx, path, () => ctx.dest.setMeta(path, meta));
}

async function remove(ctx: EngineContext, deletion: Deletion, holders: Map<string, Meta>): Promise<void> {
  try {
    if (deletion.kind === 'partial') await ctx.dest.removePartial(deletion.path);
    else await ctx.dest.remove(deletion.path, false);
  } catch (error) {
    // It still holds entries the filters protect: it stays, and that is no failure.
    if (error instanceof ParecoError && error.code === ErrorCode.NOT_EMPTY) return;
    throw error;
  }
  if (deletion.kind === 'dir') ctx.summary.dirsDeleted++;
  else if (deletion.kind !== 'partial') ctx.summary.filesDeleted++;
  if (deletion.parent !== undefined) holders.set(deletion.parent.path, deletion.parent.meta);
  ctx.emit({ type: 'delete', path: deletion.path, kind: deletion.kind });
}
