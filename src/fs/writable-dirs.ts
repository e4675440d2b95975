import { chmodSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsPath } from '../../protocol/index.js';

/**
 * Lets a change go through a directory that is read-only (mode 0555, say, as the source had it):
 * like rsync, the directory is made writable by its owner for the time of the change and its
 * mode restored afterwards. Changes under way in one directory share one such opening; the mode
 * comes back when the last of them ends. Only on EACCES, only for a directory this process owns
 * and that lacks the owner's write bit: anything else is a real permission problem.
 */
export class WritableDirs {
  /** Directories opened now: their own mode, and the changes using the opening. */
  readonly #opened = new Map<string, { mode: number; users: number }>();

  /** Runs `change`, which adds, renames or removes an entry of the directory holding `entry`. */
  async around<T>(entry: string, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
      const dir = dirname(entry);
      if (!this.#open(dir)) throw error;
      try {
        return await change();
      } finally {
        this.#close(dir);
      }
    }
  }

  /** Opens `dir` for writing, or joins an opening under way; false when that cannot help. */
  #open(dir: string): boolean {
    const opened = this.#opened.get(dir);
    if (opened !== undefined) {
      opened.users++;
      return true;
    }
    // Synchronous, so that two changes failing at once cannot both take the mode as it was.
    const st = lstatSync(fsPath(dir), { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || (st.mode & 0o300) === 0o300 || st.uid !== process.geteuid?.()) return false;
    chmodSync(fsPath(dir), (st.mode & 0o7777) | 0o300);
    this.#opened.set(dir, { mode: st.mode & 0o7777, users: 1 });
    return true;
  }

  #close(dir: string): void {
    const opened = this.#opened.get(dir)!;
    if (--opened.users > 0) return;
    this.#opened.delete(dir);
    try {
      chmodSync(fsPath(dir), opened.mode);
    } catch {
      // Gone meanwhile (deleted by the same sync): nothing to restore.
    }
  }
}
