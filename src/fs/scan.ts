import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeName, fsPath, sortNames, toParecoError, type Entry, type Kind } from '../../protocol/index.js';
import type { PathFilter } from './filter.js';
import { isPartialName, partialName, targetOfPartialName } from './partial-name.js';

/** lstat calls between two turns of the event loop. */
const STAT_BATCH = 256;

export function kindOf(st: BigIntStats): Kind {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  return 'o';
}

/**
 * A time in ns as the ms the protocol carries, computed as Node computes `mtimeMs` (seconds ×
 * 1000 + nanoseconds / 10⁶ in doubles), so that it rounds exactly as every other reader of the
 * file's mtime in Node does: a time a hair below a millisecond (set from a Date on a file system
 * that keeps nanoseconds) must not land on the millisecond below.
 */
export function msOfNs(ns: bigint): number {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return Number(seconds) * 1e3 + Number(ns - seconds * 1_000_000_000n) / 1e6;
}

/** The entry for a path from its lstat (a symlink's target is read: exact to the byte). */
export function entryOf(absolute: string, path: string, st: BigIntStats): Entry {
  const kind = kindOf(st);
  const entry: Entry = { path, kind, size: kind === 'f' ? Number(st.size) : 0, mtime: msOfNs(st.mtimeNs), mode: Number(st.mode) & 0o7777 };
  if (kind === 'l') entry.target = decodeName(readlinkSync(fsPath(absolute), { encoding: 'buffer' }));
  return entry;
}

/** An entry that could not be read (its lstat, its target, or a directory's names failed). */
function unreadable(path: string, what: string, error: unknown): Entry {
  return { path, kind: 'x', size: 0, mtime: 0, mode: 0, error: `${path}: cannot read ${what}: ${toParecoError(error).message}` };
}

/**
 * The names in a directory, exact to the byte (see protocol/byte-names.ts). Node decodes names
 * as UTF-8 and turns bytes that are not into U+FFFD, losing them: a directory where that may have
 * happened is read again as bytes (rare; the common case keeps Node's fast decoding).
 * Synchronous: the thread-pool readdir cost ~0.4 ms per directory here against ~0.1 ms.
 */
function readNames(dir: string): string[] {
  const names = readdirSync(fsPath(dir));
  if (!names.some((name) => name.includes('\ufffd'))) return names;
  return readdirSync(fsPath(dir), { encoding: 'buffer' }).map(decodeName);
}

/** A directory being walked: its names in listing order and how far the walk got. */
interface Frame {
  dir: string;
  names: string[];
  next: number;
  /** Names that have a partial file (from an interrupted run) beside them, or instead of them. */
  partials: Set<string>;
  /** The directory's own entry while it is not listed yet (the filters did not select it). */
  pending: Entry | undefined;
  /** The directory's lstat (see ScanOptions.onFile). */
  st: BigIntStats;
}

export interface ScanOptions {
  /** List the partial files of unfinished transfers (a destination): see Entry.partial. */
  partials?: boolean;
  /** Entries per batch. */
  batch?: number;
  /** Told of every directory walked, the root first: its absolute path, lstat, and all the names in it. */
  onDirectory?: (absolute: string, st: BigIntStats, names: readonly string[]) => void;
  /** Told of every regular file listed (not a partial file): its entry, absolute path, lstat and its directory's. */
  onFile?: (entry: Entry, absolute: string, st: BigIntStats, dir: BigIntStats) => void;
}

/**
 * Walks the tree under `root` without following symlinks, in the canonical listing order
 * (protocol/name-order.ts: depth first, a directory before its contents, names sorted by
 * bytes), yielding the entries the filter selects in batches. The root itself is not listed.
 *
 * A directory the filter does not select itself is still walked (unless excluded) and listed
 * just before the first selected entry inside it, so that it exists at the destination. Memory
 * holds the directories along the current path (with their names), never the whole tree.
 *
 * Partial files of unfinished transfers are never listed as themselves; with `partials`, the
 * file they will become is flagged `partial`, or listed as kind 'p' when it does not exist.
 * An entry that cannot be read is listed as kind 'x' with the reason, never skipped.
 */
export async function* scanTree(root: string, filter: PathFilter, options: ScanOptions = {}): AsyncGenerator<Entry[]> {
  const batch = options.batch ?? 1000;
  const withPartials = options.partials ?? false;
  const rootStat = lstatSync(fsPath(root), { bigint: true });
  const stack: Frame[] = [frameOf(root, '', rootStat, readNames(root), withPartials, options)];
  let out: Entry[] = [];
  let statted = 0;

  /** Lists an entry, after the directories above it that were held back. */
  const emit = (entry: Entry) => {
    for (const frame of stack) {
      if (frame.pending !== undefined) {
        out.push(frame.pending);
        frame.pending = undefined;
      }
    }
    out.push(entry);
  };

  while (stack.length > 0) {
    const frame = stack.at(-1)!;
    if (frame.next >= frame.names.length) {
      stack.pop();
      continue;
    }
    const name = frame.names[frame.next++]!;
    const path = frame.dir === '' ? name : `${frame.dir}/${name}`;
    if (filter.excluded(path)) continue;
    if (++statted % STAT_BATCH === 0) {
      if (out.length > 0) {
        yield out;
        out = [];
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const read = readEntry(root, frame, name, path);
    if (read === undefined) continue; // vanished since the directory was read
    const { entry, st } = read;
    if (entry.kind === 'd') {
      let names: string[];
      try {
        names = readNames(join(root, path));
      } catch (error) {
        emit(unreadable(path, 'directory', error));
        continue;
      }
      const child = frameOf(root, path, st!, names, withPartials, options);
      if (filter.selected(path)) emit(entry);
      else child.pending = entry;
      stack.push(child);
    } else if (entry.kind === 'x' || filter.selected(path)) {
      if (entry.kind === 'f' && entry.partial !== true) options.onFile?.(entry, join(root, path), st!, frame.st);
      emit(entry);
    }
    if (out.length >= batch) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** A directory's frame: its names without partial files, plus the targets of partial files. */
function frameOf(root: string, dir: string, st: BigIntStats, all: string[], withPartials: boolean, options: ScanOptions): Frame {
  options.onDirectory?.(join(root, dir), st, all);
  const names: string[] = [];
  const partials = new Set<string>();
  for (const name of all) {
    if (!isPartialName(name)) names.push(name);
    else if (withPartials) {
      const target = targetOfPartialName(name);
      if (target !== undefined) partials.add(target);
    }
  }
  const present = new Set(names);
  for (const target of partials) if (!present.has(target)) names.push(target);
  return { dir, names: sortNames(names), next: 0, partials, pending: undefined, st };
}

/** The entry for one name (with its lstat), flagged with its partial file; undefined when it is gone. */
function readEntry(root: string, frame: Frame, name: string, path: string): { entry: Entry; st: BigIntStats | undefined } | undefined {
  const absolute = join(root, path);
  try {
    const st = lstatSync(fsPath(absolute), { bigint: true, throwIfNoEntry: false });
    if (frame.partials.has(name)) {
      if (st === undefined) {
        const entry = partialOnly(root, frame, name, path);
        return entry === undefined ? undefined : { entry, st };
      }
      const entry = entryOf(absolute, path, st);
      if (entry.kind === 'f') entry.partial = true;
      return { entry, st };
    }
    return st === undefined ? undefined : { entry: entryOf(absolute, path, st), st };
  } catch (error) {
    return { entry: unreadable(path, 'entry', error), st: undefined };
  }
}

/** A partial file whose target does not exist (yet): kind 'p' under the target's path. */
function partialOnly(root: string, frame: Frame, name: string, path: string): Entry | undefined {
  const st = lstatSync(fsPath(join(root, frame.dir, partialName(name))), { bigint: true, throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) return undefined;
  return { path, kind: 'p', size: Number(st.size), mtime: msOfNs(st.mtimeNs), mode: Number(st.mode) & 0o7777 };
}
