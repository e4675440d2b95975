import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, ParecoError, checkWirePath, fsPath } from '../../protocol/index.js';

/**
 * Resolves checked relative paths under one root directory without ever going through a
 * symlink: every directory above the entry must be a real directory (or not exist yet).
 * Directories found real are remembered until something under the root is removed or replaced.
 */
export class ConfinedRoot {
  readonly root: string;
  #realDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Absolute path of `path`; throws BAD_PATH when a parent is a symlink or not a directory. */
  async resolve(path: string): Promise<string> {
    checkWirePath(path);
    if (path === '') return this.root;
    let end = path.indexOf('/');
    while (end !== -1) {
      const parent = path.slice(0, end);
      if (!this.#realDirs.has(parent)) {
        const st = lstatSync(fsPath(join(this.root, parent)), { throwIfNoEntry: false });
        if (st === undefined) break; // it will fail with ENOENT at the operation itself
        if (!st.isDirectory()) {
          throw new ParecoError(ErrorCode.BAD_PATH, `${path}: ${parent} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
        }
        this.#realDirs.add(parent);
      }
      end = path.indexOf('/', end + 1);
    }
    return join(this.root, path);
  }

  /** Forget what was verified: call after anything under the root is removed or replaced. */
  forget(): void {
    this.#realDirs.clear();
  }
}
