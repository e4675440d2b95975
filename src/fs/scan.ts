import type { Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, Kind } from '../../protocol/index.js';
import type { PathFilter } from './filter.js';
import { isPartialName, targetOfPartialName } from './partial-name.js';

/** Entries stat'ed between two turns of the event loop. */
const STAT_BATCH = 256;

export function kindOf(st: Stats): Kind {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  return 'o';
}

export async function entryOf(absolute: string, path: string, st: Stats): Promise<Entry> {
  const kind = kindOf(st);
  const entry: Entry = { path, kind, size: kind === 'f' ? st.size : 0, mtime: st.mtimeMs, mode: st.mode & 0o7777 };
  if (kind === 'l') entry.target = await readlink(absolute);
  return entry;
}

/**
 * Walks the tree under `root` without following symlinks, yielding the entries the filter
 * selects. A directory the filter does not select itself is still walked (unless excluded) and
 * is yielded, after its contents, when something inside it was selected, so that it exists at
 * the destination. Partial files of unfinished transfers are never listed as themselves; with
 * `partials`, each is listed as kind 'p' under the path of the file it will become.
 */
export async function* scanTree(root: string, filter: PathFilter, options: { partials?: boolean } = {}): AsyncGenerator<Entry> {
  yield* walk(root, '', filter, options.partials ?? false);
}

async function* walk(root: string, dir: string, filter: PathFilter, partials: boolean): AsyncGenerator<Entry, number> {
  const all = await readdir(join(root, dir));
  const names = all.filter((name) => !isPartialName(name)).sort();
  let yielded = 0;
  if (partials) {
    for (const name of all) {
      const target = targetOfPartialName(name);
      if (target === undefined) continue;
      const path = dir === '' ? target : `${dir}/${target}`;
      const st = await lstat(join(root, dir, name)).catch(() => undefined);
      if (st?.isFile() && filter.selected(path)) {
        yield { path, kind: 'p', size: st.size, mtime: st.mtimeMs, mode: st.mode & 0o7777 };
        yielded++;
      }
    }
  }
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    const batch = names.slice(i, i + STAT_BATCH).map((name) => (dir === '' ? name : `${dir}/${name}`));
    // Synchronous lstat: a thread-pool trip costs more than the call itself (see SYNC_IO_LIMIT);
    // the event loop gets a turn between batches. Undefined: vanished since readdir.
    const stats = batch.map((path) => lstatSync(join(root, path), { throwIfNoEntry: false }));
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const [j, path] of batch.entries()) {
      const st = stats[j];
      if (st === undefined || filter.excluded(path)) continue;
      const entry = await entryOf(join(root, path), path, st);
      if (entry.kind !== 'd') {
        if (filter.selected(path)) {
          yield entry;
          yielded++;
        }
      } else if (filter.selected(path)) {
        yield entry;
        yielded += 1 + (yield* walk(root, path, filter, partials));
      } else {
        const inside = yield* walk(root, path, filter, partials);
        if (inside > 0) {
          yield entry;
          yielded += inside + 1;
        }
      }
    }
  }
  return yielded;
}
