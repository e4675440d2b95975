/** A compiled glob. */
interface Matcher {
  match(path: string): boolean;
}

/**
 * Include/exclude selection of relative paths with minimatch globs. A pattern matches the path
 * relative to the root ('*.txt' only at the top, '**' at any depth); a matching directory
 * selects everything below it; exclude beats include; no include means everything.
 */
export class PathFilter {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly #include: Matcher[];
  readonly #exclude: Matcher[];

  /** Compiles the globs. minimatch is loaded only when there are some: it is start-up time. */
  static async create(include: readonly string[] = [], exclude: readonly string[] = []): Promise<PathFilter> {
    if (include.length === 0 && exclude.length === 0) return new PathFilter([], [], [], []);
    const { Minimatch } = await import('minimatch');
    const compile = (pattern: string): Matcher => {
      // rsync users write '/top' for "at the root" and 'dir/' for "a directory": both mean the same here.
      const normalised = pattern.replace(/^\/+/, '').replace(/\/+$/, '') || pattern;
      return new Minimatch(normalised, { dot: true, nonegate: true, nocomment: true });
    };
    return new PathFilter(include, exclude, include.map(compile), exclude.map(compile));
  }

  private constructor(include: readonly string[], exclude: readonly string[], includeMatchers: Matcher[], excludeMatchers: Matcher[]) {
    this.include = include;
    this.exclude = exclude;
    this.#include = includeMatchers;
    this.#exclude = excludeMatchers;
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

function matchesSelfOrAncestor(patterns: Matcher[], path: string): boolean {
  let end = path.indexOf('/');
  while (end !== -1) {
    const ancestor = path.slice(0, end);
    if (patterns.some((p) => p.match(ancestor))) return true;
    end = path.indexOf('/', end + 1);
  }
  return patterns.some((p) => p.match(path));
}
