import type * as Minimatch from 'minimatch';
import { CrossingGlob } from './crossing-glob.js';
import { splitAtInNameStars } from './in-name-stars.js';

/** A compiled pattern: does a relative, '/'-separated path match it? */
export interface Glob {
  match(path: string): boolean;
}

/** minimatch as Pareco has always used it: dotfiles match, and '#' and '!' are plain characters. */
const OPTIONS = { dot: true, nonegate: true, nocomment: true } as const;

/**
 * Loads minimatch, which costs start-up time (so only when there are patterns), and returns the
 * compiler of one pattern.
 */
export async function loadGlobCompiler(): Promise<(pattern: string) => Glob> {
  const minimatch = await import('minimatch');
  return (pattern) => compileGlob(pattern, minimatch);
}

/**
 * A pattern is a minimatch glob, with one difference: a '**' inside a name ('**.txt',
 * 'logs/**.gz', 'a**b'; also '***') matches any characters, '/' included, as in the original
 * Pareco, where minimatch reads it as '*'. A '**' that is a whole segment keeps minimatch's
 * meaning. A pattern without an in-name '**' is left to minimatch whole, so that it means
 * exactly what it did before.
 */
function compileGlob(pattern: string, minimatch: typeof Minimatch): Glob {
  // Built first in any case: it rejects the patterns minimatch rejects, with its message.
  const whole = new minimatch.Minimatch(pattern, OPTIONS);
  // Braces are expanded before looking for '**', as minimatch does: '{a,**}/x' holds '**/x'.
  const alternatives = minimatch.braceExpand(pattern, OPTIONS);
  if (!alternatives.some(hasInNameStars)) return whole;
  // Each alternative is expanded already: a brace left in one is a literal (it was escaped).
  const expanded = (glob: string) => new minimatch.Minimatch(glob, { ...OPTIONS, nobrace: true });
  const globs = alternatives.map((alternative) =>
    hasInNameStars(alternative) ? new CrossingGlob(alternative, expanded) : expanded(alternative),
  );
  return { match: (path) => globs.some((glob) => glob.match(path)) };
}

function hasInNameStars(pattern: string): boolean {
  return pattern.split('/').some((segment) => segment !== '**' && splitAtInNameStars(segment).length > 1);
}
