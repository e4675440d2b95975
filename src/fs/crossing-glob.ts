import { splitAtInNameStars } from './in-name-stars.js';

/** A glob for one name (a path segment, no '/'). */
export interface NameGlob {
  match(name: string): boolean;
}

/** A whole-segment '**': zero or more names. */
const GLOBSTAR = Symbol('**');

/** A segment of the pattern other than '**': its pieces around in-name '**', and their name globs. */
interface Pieces {
  pieces: string[];
  units: Map<string, NameGlob>;
}

/**
 * A pattern with an in-name '**' ('**.txt', 'logs/**.gz', 'a**b'): that '**' matches any
 * characters, '/' included, as in the original Pareco. A whole-segment '**' keeps minimatch's
 * meaning: zero or more names where more of the pattern follows, at least one name where it
 * ends the pattern ('build/**' does not match 'build').
 *
 * The path is matched one name at a time. Between two pieces of a segment, an in-name '**'
 * either stays inside the name (the pieces are joined by '*'), or ends the name with '*', takes
 * whole names, and starts a later name with '*'. Each name is compared with such a unit, a
 * glob without '/' that `compileName` (minimatch) reads: classes, braces, extglobs and every
 * other bit of syntax mean what they mean in minimatch.
 *
 * The state after some names is, for each segment of the pattern, the most of its pieces
 * matched so far, or -1. The most is enough: with more pieces matched, what is left of the
 * segment starts with a '**' that takes whatever the fewer pieces would have had to match. So a
 * path costs, per name and segment, a few name matches: linear, no backtracking (patterns come
 * from clients, and the server must not be made to spin on one).
 */
export class CrossingGlob {
  readonly #segments: (Pieces | typeof GLOBSTAR)[];
  readonly #compileName: (unit: string) => NameGlob;

  constructor(pattern: string, compileName: (unit: string) => NameGlob) {
    this.#compileName = compileName;
    // minimatch reads 'a//b' as 'a/b' too.
    this.#segments = pattern.split(/\/+/).map((segment) =>
      segment === '**' ? GLOBSTAR : { pieces: splitAtInNameStars(segment), units: new Map<string, NameGlob>() },
    );
  }

  match(path: string): boolean {
    const end = this.#segments.length;
    let reached = this.#throughGlobstars([0, ...new Array<number>(end).fill(-1)]);
    for (const name of path.split('/')) {
      reached = this.#throughGlobstars(this.#step(reached, name));
      if (reached.every((piece) => piece === -1)) return false;
    }
    return reached[end]! >= 0;
  }

  /** The state after one more name. */
  #step(reached: number[], name: string): number[] {
    const next = reached.map(() => -1);
    const advance = (s: number, piece: number) => {
      next[s] = Math.max(next[s]!, piece);
    };
    this.#segments.forEach((segment, s) => {
      const at = reached[s]!;
      if (at === -1) return;
      if (segment === GLOBSTAR) {
        advance(s, 0); // one more directory inside the '**'
        // A trailing '**' takes at least one name, as in minimatch.
        if (s === this.#segments.length - 1) advance(s + 1, 0);
        return;
      }
      const last = segment.pieces.length - 1;
      if (at > 0) advance(s, at); // the whole name is inside the '**' before piece `at`
      const through = this.#lastPieceInName(segment, at, name);
      if (through >= at) advance(s, through + 1);
      if (this.#unit(segment, at, last).match(name)) advance(s + 1, 0);
    });
    return next;
  }

  /**
   * The last piece before the segment's last that the name can end with, starting at piece
   * `from` (then the '**' after it goes on into the next names), or from - 1 when none can. The
   * pieces it can end with are a run from `from` on: a name that matches 'x*y*' matches 'x*' as
   * well. So a binary search finds the end, in a few name matches even for a hostile pattern.
   */
  #lastPieceInName(segment: Pieces, from: number, name: string): number {
    let best = from - 1;
    let low = from;
    let high = segment.pieces.length - 2;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.#unit(segment, from, middle).match(name)) {
        best = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return best;
  }

  /** Leading and middle '**' segments can take no name at all: the state moves past them. */
  #throughGlobstars(reached: number[]): number[] {
    for (let s = 0; s < this.#segments.length - 1; s++) {
      if (this.#segments[s] === GLOBSTAR && reached[s]! >= 0) reached[s + 1] = Math.max(reached[s + 1]!, 0);
    }
    return reached;
  }

  /**
   * The glob for one name holding pieces `from` to `to` of a segment: the in-name '**' between
   * them stay in the name ('*'), the one before `from` ends here ('*' first) and the one after
   * `to` starts here ('*' last). Compiled when first needed: there are many, most never used.
   */
  #unit(segment: Pieces, from: number, to: number): NameGlob {
    const key = `${from}:${to}`;
    let unit = segment.units.get(key);
    if (unit === undefined) {
      const head = from > 0 ? '*' : '';
      const tail = to < segment.pieces.length - 1 ? '*' : '';
      unit = this.#compileName(head + segment.pieces.slice(from, to + 1).join('*') + tail);
      segment.units.set(key, unit);
    }
    return unit;
  }
}
