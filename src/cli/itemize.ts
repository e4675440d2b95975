import type { Mode } from '../../protocol/index.js';
import type { SyncEvent } from '../client/sync-report.js';

/**
 * One rsync-style `--itemize-changes` line for an event, or undefined when nothing changed.
 * `YXcstpoguax path`: Y is `<` for data sent (upload), `>` received (download), `c` created
 * locally (directory, symlink), `.` metadata only, or `*deleting`; X the type (f, d, L); then
 * c (data), s (size), t (mtime), p (permissions) — o, g, u, a, x are never set; `+` for new.
 */
export function itemize(event: SyncEvent, mode: Mode): string | undefined {
  const arrow = mode === 'upload' ? '<' : '>';
  switch (event.type) {
    case 'file': {
      if (event.action === 'uptodate') return undefined;
      if (event.action === 'new' || event.before === undefined) return `${arrow}f+++++++++ ${event.path}`;
      const { before } = event;
      const flags =
        (event.bytesSent > 0 ? 'c' : '.') +
        (before.size !== event.size ? 's' : '.') +
        (Math.floor(before.mtime) !== Math.floor(event.mtime) ? 't' : '.') +
        (before.mode !== event.mode ? 'p' : '.') +
        '.....';
      return `${event.action === 'metadata' ? '.' : arrow}f${flags} ${event.path}`;
    }
    case 'mkdir':
      return `cd+++++++++ ${event.path}/`;
    case 'symlink':
      return `cL+++++++++ ${event.path} -> ${event.target}`;
    case 'delete':
      return `*deleting   ${event.path}${event.kind === 'dir' ? '/' : event.kind === 'partial' ? ' (partial file)' : ''}`;
    default:
      return undefined;
  }
}
