import type { Entry } from '../../protocol/index.js';

/** A source directory the sync is in, or whose work is not finished yet. */
export interface DirectoryFrame {
  path: string;
  /** The source's entry: the mode and mtime the directory must end with. */
  src: Entry;
  /** The destination's entry as listed, if it was a directory there. */
  dst: Entry | undefined;
  /** Settles when the directory exists at the destination: work inside waits for it. */
  ready: Promise<void>;
  /** Work inside not finished yet, subdirectories included. */
  outstanding: number;
  /** False once the listings have moved past it: no new work will come. */
  open: boolean;
  /** Something inside was created, replaced or removed, which changed its mtime. */
  touched: boolean;
  parent: DirectoryFrame | undefined;
}

/**
 * The directories along the listings' current path, and those left behind whose work is still
 * under way. Because the listings are depth first, a directory is entered before its contents
 * and left after them: its metadata is applied once it is left and all its work is done (mode
 * and mtime last, so that nothing changes it afterwards), then its parent is told. Memory holds
 * the current path and the directories with work in flight, never the whole tree.
 */
export class DirectoryTracker {
  readonly #path: DirectoryFrame[] = [];
  readonly #finish: (frame: DirectoryFrame) => Promise<void>;
  #all: () => void = () => {};
  readonly #allDone = new Promise<void>((resolve) => (this.#all = resolve));
  #entered = false;

  /** `finish` applies a directory's metadata when its work is done; it must not throw. */
  constructor(finish: (frame: DirectoryFrame) => Promise<void>) {
    this.#finish = finish;
  }

  /** The innermost directory the listings are in (undefined before the root). */
  get current(): DirectoryFrame | undefined {
    return this.#path.at(-1);
  }

  /** Leaves the directories that do not hold `path` (the listings have moved past them). */
  moveTo(path: string): void {
    for (let top = this.#path.at(-1); top !== undefined && !holds(top.path, path); top = this.#path.at(-1)) {
      this.#path.pop();
      top.open = false;
      this.#settle(top);
    }
  }

  /** Enters a source directory (a child of the current one, or the root). */
  enter(src: Entry, dst: Entry | undefined, ready: Promise<void>): DirectoryFrame {
    const parent = this.current;
    const frame: DirectoryFrame = { path: src.path, src, dst, ready, outstanding: 0, open: true, touched: false, parent };
    if (parent !== undefined) parent.outstanding++;
    this.#entered = true;
    this.#path.push(frame);
    return frame;
  }

  /** Counts `work` in `frame` until it settles (its failure is the caller's to handle). */
  track(frame: DirectoryFrame | undefined, work: Promise<unknown>): void {
    if (frame === undefined) return;
    frame.outstanding++;
    const done = () => {
      frame.outstanding--;
      this.#settle(frame);
    };
    work.then(done, done);
  }

  /** Resolves once every directory was left and finished (call after the listings ended). */
  finish(): Promise<void> {
    if (!this.#entered) return Promise.resolve();
    for (let top = this.#path.pop(); top !== undefined; top = this.#path.pop()) {
      top.open = false;
      this.#settle(top);
    }
    return this.#allDone;
  }

  #settle(frame: DirectoryFrame): void {
    if (frame.open || frame.outstanding > 0) return;
    frame.outstanding = -1; // finished: never again
    void this.#finish(frame).then(() => {
      if (frame.parent === undefined) this.#all();
      else {
        frame.parent.outstanding--;
        this.#settle(frame.parent);
      }
    });
  }
}

/** True when `path` is `dir` or lies inside it ('' holds everything). */
function holds(dir: string, path: string): boolean {
  return dir === '' || path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 0x2f);
}
