import type { Entry } from '../../protocol/index.js';
import type { Pair } from './listing-merge.js';

/**
 * What to do about one path, from its two entries alone (no I/O): the per-entry decisions of a
 * sync, kept apart from carrying them out so that they read (and are tested) as a table.
 */
export type Decision =
  /** An entry of either side could not be read: a failure, reported with its reason. */
  | { kind: 'unreadable'; entry: Entry }
  /** A fifo, socket or device at the source: reported, never copied. */
  | { kind: 'special' }
  /** A directory: created when missing, after removing what else is in the way (`replace`). */
  | { kind: 'directory'; create: boolean; replace: boolean }
  /** A symlink: created when missing or different, else only its mtime may need fixing. */
  | { kind: 'symlink'; create: boolean; replace: boolean }
  /**
   * A regular file to bring up to date: `put` a new small file whole (batched), `write` a new big
   * one chunk by chunk, or `compare` digests with what the destination has (a file or a partial
   * file) and send only what differs.
   */
  | { kind: 'file'; plan: 'put' | 'write' | 'compare'; replace: boolean }
  /**
   * Up to date: equal size and mtime trusted with --skip-digest, or equal digests listed by both
   * sides. `fixMeta`: its mode or mtime differs.
   */
  | { kind: 'uptodate'; fixMeta: boolean }
  /** Only at the destination: a deletion candidate (--delete-unexpected). */
  | { kind: 'extra' }
  /** Only a partial file at the destination, of a file the source does not have. */
  | { kind: 'stale-partial' };

export interface DecisionSettings {
  /** New files up to this size are put whole (by the batch); bigger ones go chunk by chunk. */
  smallFile: number;
  skipDigest: boolean;
  /** Data goes straight into the target: a partial file is no basis to compare against. */
  inplace: boolean;
}

/** Same mtime at millisecond precision, the precision every platform keeps. */
export function sameMtime(a: number, b: number): boolean {
  return Math.floor(a) === Math.floor(b);
}

/** Both listings came with the digest of the whole file (one chunk at most), and it is the same. */
function sameListedDigest(src: Entry, dst: Entry): boolean {
  return src.digest !== undefined && dst.digest !== undefined && dst.partial !== true && src.size === dst.size && src.digest.equals(dst.digest);
}

/** Decides what a pair of entries needs. */
export function decide(pair: Pair, settings: DecisionSettings): Decision {
  const { src, dst } = pair;
  if (src === undefined) {
    if (dst!.kind === 'x') return { kind: 'unreadable', entry: dst! };
    return dst!.kind === 'p' ? { kind: 'stale-partial' } : { kind: 'extra' };
  }
  if (src.kind === 'x') return { kind: 'unreadable', entry: src };
  if (dst?.kind === 'x') return { kind: 'unreadable', entry: dst };
  // Something of another kind in the way (a partial file is beside the target, never in its way).
  const replace = dst !== undefined && dst.kind !== src.kind && dst.kind !== 'p';
  switch (src.kind) {
    case 'o':
      return { kind: 'special' };
    case 'd':
      return { kind: 'directory', create: dst?.kind !== 'd', replace };
    case 'l':
      return { kind: 'symlink', create: dst?.kind !== 'l' || dst.target !== src.target, replace };
    case 'f':
    case 'p':
      return decideFile(src, dst, replace, settings);
  }
}

function decideFile(src: Entry, dst: Entry | undefined, replace: boolean, settings: DecisionSettings): Decision {
  if (dst?.kind === 'f') {
    if (settings.skipDigest && dst.size === src.size && sameMtime(dst.mtime, src.mtime)) return { kind: 'uptodate', fixMeta: dst.mode !== src.mode };
    if (sameListedDigest(src, dst)) return { kind: 'uptodate', fixMeta: dst.mode !== src.mode || !sameMtime(dst.mtime, src.mtime) };
    return { kind: 'file', plan: 'compare', replace: false };
  }
  // A partial file left by an interrupted run: compare against it, send only what it lacks.
  if (dst?.kind === 'p' && !settings.inplace) return { kind: 'file', plan: 'compare', replace: false };
  return { kind: 'file', plan: src.size <= settings.smallFile ? 'put' : 'write', replace };
}
