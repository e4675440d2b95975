import { ErrorCode, ParecoError } from '../../protocol/index.js';
import type { SyncSummary } from '../client/sync-report.js';

/** Exit codes, rsync-compatible where rsync has one. Documented in README.md. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  /** Some files failed. */
  PARTIAL: 23,
  /** Some source files vanished or changed during the transfer. */
  VANISHED: 24,
  /** --max-delete stopped the deletions. */
  DELETE_LIMIT: 25,
  /** Interrupted by Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT, as shells report it. */
  INTERRUPTED: 130,
} as const;

export function exitCodeOfSummary(summary: SyncSummary): number {
  if (summary.aborted) return ExitCode.INTERRUPTED;
  if (summary.filesFailed > 0) return ExitCode.PARTIAL;
  if (summary.filesChanged > 0) return ExitCode.VANISHED;
  if (summary.deletionsRefused > 0) return ExitCode.DELETE_LIMIT;
  return ExitCode.OK;
}

export function exitCodeOfError(error: unknown): number {
  return error instanceof ParecoError && error.code === ErrorCode.USAGE ? ExitCode.USAGE : ExitCode.ERROR;
}
