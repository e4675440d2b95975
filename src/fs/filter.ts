import { loadGlobCompiler, type Glob } from './glob.js';

/**
 * Include/exclude selection of relative paths with globs (see glob.ts). A pattern matches the
 * path relative to the root ('*.txt' only at the top, '**.txt' at any depth); a matching
 * directory selects everything below it; exclude beats include; no include means everything.
 */
export class PathFilter {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly #include: Glob[];
  readonly #exclude: Glob[];

  /** Compiles the globs. The glob engine is loaded only when there are some: it is start-up time. */
  static async create(include: readonly string[] = [], exclude: readonly string[] = []): Promise<PathFilter> {
    if (include.length === 0 && exclude.length === 0) return new PathFilter([], [], [], []);
    const compileGlob = await loadGlobCompiler();
    const compile = (pattern: string): Glob => {
      // rsync users write '/top' for "at the root" and 'dir/' for "a directory": both mean the same here.
      const normalised = pattern.replace(/^\/+/, '').replace(/\/+$/, '') || pattern;
      return compileGlob(normalised);
    };
    return new PathFilter(include, exclude, include.map(compile), exclude.map(compile));
  }

  private constructor(include: readonly string[], exclude: readonly string[], includeGlobs: Glob[], excludeGlobs: Glob[]) {
    this.include = include;
    this.exclude = exclude;
    this.#include = includeGlobs;
    this.#exclude = excludeGlobs;
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

function matchesSelfOrAncestor(patterns: Glob[], path: string): boolean {
  let end = path.indexOf('/');
  while (end !== -1) {
    const ancestor = path.slice(0, end);
    if (patterns.some((p) => p.match(ancestor))) return true;
    end = path.indexOf('/', end + 1);
  }
  return patterns.some((p) => p.match(path));
}
