import type { Entry } from '../../protocol/index.js';

/** A source directory the sync is in, or whose work is not finished yet. */
export interface DirectoryFrame {
  path: string;
  /** The source's entry: the mode and mtime the directory must end with. */
  src: Entry;
  /** The destination's entry as listed, if it was a directory there. */
  dst: Entry | undefined;
  /** Settles when the directory exists at the destination (its metadata waits for it). */
  ready: Promise<void>;
  /**
   * For a new directory, its creation, sent only if nothing goes into it: the first entry that
   * does creates it (the destination makes missing parents), which saves a request and a round
   * trip per new directory. Called when the listings leave the directory (see the constructor).
   */
  create: (() => Promise<void>) | undefined;
  /** Work started inside it so far. */
  started: number;
  /**
   * What its parent waits for: nothing (an existing directory), its contents (a new one is
   * created by them, which changes the parent's mtime), or also its own metadata (the parent's
   * new mode shuts its owner out of what is below).
   */
  holdsParent: 'no' | 'contents' | 'metadata';
  /**
   * What work inside must wait for. The destination creates missing directories on its own as
   * entries go into them, so work inside need not wait for the directory's creation, except
   * where something else was in the way (a file where a directory goes, here or above), which
   * must be removed first.
   */
  gate: Promise<void>;
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
 * and left after them: its metadata is applied once it is left and the work on its own entries
 * is done (creating, replacing, removing an entry changes a directory's mtime; what happens
 * deeper does not), so mode and mtime come last. A directory waits for a whole subdirectory
 * when that one is new (what goes into it creates it), or when its own new mode would shut its
 * owner out (no owner x) of what is below. Memory
 * holds the current path and the directories with work in flight, never the whole tree.
 */
export class DirectoryTracker {
  readonly #path: DirectoryFrame[] = [];
  readonly #finish: (frame: DirectoryFrame) => Promise<void>;
  readonly #leave: (frame: DirectoryFrame) => void;
  #all: () => void = () => {};
  readonly #allDone = new Promise<void>((resolve) => (this.#all = resolve));
  /** Directories entered and not finished yet. */
  #unfinished = 0;
  #finishing = false;

  /**
   * `leave` is told when the listings have left a directory (it may start the directory's own
   * creation, tracked in its parent); `finish` applies a directory's metadata when its work is
   * done. Neither may throw.
   */
  constructor(hooks: { leave: (frame: DirectoryFrame) => void; finish: (frame: DirectoryFrame) => Promise<void> }) {
    this.#leave = hooks.leave;
    this.#finish = hooks.finish;
  }

  /** The innermost directory the listings are in (undefined before the root). */
  get current(): DirectoryFrame | undefined {
    return this.#path.at(-1);
  }

  /** Leaves the directories that do not hold `path` (the listings have moved past them). */
  moveTo(path: string): void {
    for (let top = this.#path.at(-1); top !== undefined && !holds(top.path, path); top = this.#path.at(-1)) {
      this.#path.pop();
      this.#close(top);
    }
  }

  /** Enters a source directory (a child of the current one, or the root). */
  enter(src: Entry, dst: Entry | undefined, ready: Promise<void>, gate: Promise<void>, create?: () => Promise<void>): DirectoryFrame {
    const parent = this.current;
    // A new directory is created by what goes into it: its parent, whose mtime that changes,
    // waits for it. So does a parent whose new mode would shut its owner out of what is below.
    const holdsParent = parent === undefined ? 'no' : (parent.src.mode & 0o100) === 0 ? 'metadata' : create !== undefined ? 'contents' : 'no';
    const frame: DirectoryFrame = { path: src.path, src, dst, ready, gate, create, started: 0, holdsParent, outstanding: 0, open: true, touched: false, parent };
    if (holdsParent !== 'no') parent!.outstanding++;
    this.#unfinished++;
    this.#path.push(frame);
    return frame;
  }

  /** Counts `work` in `frame` until it settles (its failure is the caller's to handle). */
  track(frame: DirectoryFrame | undefined, work: Promise<unknown>): void {
    if (frame === undefined) return;
    frame.started++;
    frame.outstanding++;
    const done = () => {
      frame.outstanding--;
      this.#settle(frame);
    };
    work.then(done, done);
  }

  /** Resolves once every directory was left and finished (call after the listings ended). */
  finish(): Promise<void> {
    this.#finishing = true;
    for (let top = this.#path.pop(); top !== undefined; top = this.#path.pop()) this.#close(top);
    if (this.#unfinished === 0) this.#all();
    return this.#allDone;
  }

  /** The listings have left `frame`: no new work will come into it. */
  #close(frame: DirectoryFrame): void {
    frame.open = false;
    this.#leave(frame);
    this.#settle(frame);
  }

  #settle(frame: DirectoryFrame): void {
    if (frame.open || frame.outstanding > 0) return;
    frame.outstanding = -1; // finished: never again
    if (frame.holdsParent === 'contents') this.#release(frame.parent!);
    void this.#finish(frame).then(() => {
      if (frame.holdsParent === 'metadata') this.#release(frame.parent!);
      if (--this.#unfinished === 0 && this.#finishing) this.#all();
    });
  }

  #release(parent: DirectoryFrame): void {
    parent.outstanding--;
    this.#settle(parent);
  }
}

/** True when `path` is `dir` or lies inside it ('' holds everything). */
function holds(dir: string, path: string): boolean {
  return dir === '' || path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 0x2f);
}
