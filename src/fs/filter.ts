import { Minimatch } from 'minimatch';

/**
 * Include/exclude selection of relative paths with minimatch globs. A pattern matches the path
 * relative to the root ('*.txt' only at the top, '**' at any depth); a matching directory
 * selects everything below it; exclude beats include; no include means everything.
 */
export class PathFilter {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly #include: Minimatch[];
  readonly #exclude: Minimatch[];

  constructor(include: readonly string[] = [], exclude: readonly string[] = []) {
    this.include = include;
    this.exclude = exclude;
    this.#include = include.map(compile);
    this.#exclude = exclude.map(compile);
  }

  /** True when the path, or a directory above it, matches an exclude pattern. */
  excluded(path: string): boolean {
    return this.#exclude.length > 0 && matchesSelfOrAncestor(this.#exclude, path);
  }

  /** True when the path is selected for transfer (and, with --delete, for deletion). */
  selected(path: string): boolean {
    if (this.excluded(path)) return false;
    return this.#include.length === 0 || matchesSelfOrAncestor(this.#include, path);
  }
}

function compile(pattern: string): Minimatch {
  // rsync users write '/top' for "at the root" and 'dir/' for "a directory": both mean the same here.
  const normalised = pattern.replace(/^\/+/, '').replace(/\/+$/, '') || pattern;
  return new Minimatch(normalised, { dot: true, nonegate: true, nocomment: true });
}

function matchesSelfOrAncestor(patterns: Minimatch[], path: string): boolean {
  let end = path.indexOf('/');
  while (end !== -1) {
    const ancestor = path.slice(0, end);
    if (patterns.some((p) => p.match(ancestor))) return true;
    end = path.indexOf('/', end + 1);
  }
  return patterns.some((p) => p.match(path));
}
