import { createConsola, type ConsolaInstance, type LogObject } from 'consola/core';
import type { Writable } from 'node:stream';
import { format } from 'node:util';
import type { Mode } from '../../protocol/index.js';
import type { SyncEvent, SyncSummary } from '../client/sync-report.js';
import { colorEnabled, palette, type Palette } from './color.js';
import { itemize } from './itemize.js';
import { LineBatcher } from './line-batcher.js';
import { formatSize } from './parse-size.js';
import { printable } from './printable.js';
import { ProgressDisplay } from './progress.js';

/** Pareco's log levels, from silent to chatty. */
export const LOG_LEVELS = ['off', 'quiet', 'stats', 'files', 'chunks'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// consola levels: 0 error, 1 warn, 2 log, 3 info, 4 debug.
const CONSOLA_LEVEL: Record<LogLevel, number> = { off: -999, quiet: 1, stats: 2, files: 3, chunks: 4 };

/** A stream the reporter writes to; a terminal says so, and how wide it is. */
export type ReporterStream = Writable & { isTTY?: boolean; columns?: number };

export interface ReporterOptions {
  level: LogLevel;
  json: boolean;
  stdout: ReporterStream;
  stderr: ReporterStream;
  /**
   * The live progress lines on stderr: true forces them on (except at log level off), false
   * off, undefined (the default) shows them when stderr is a terminal, without --json, at log
   * level stats or above.
   */
  progress?: boolean | undefined;
  /** rsync-style change lines (--itemize) instead of the descriptive ones; the mode sets `<`/`>`. */
  itemize?: Mode | undefined;
  /** Where NO_COLOR, FORCE_COLOR and TERM are read (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

/** A wait in whole seconds, or tenths below ten seconds: `4s`, `0.5s`. */
function formatWait(ms: number): string {
  const seconds = ms / 1000;
  return seconds >= 10 ? `${Math.round(seconds)}s` : `${Math.max(0.1, Math.round(seconds * 10) / 10)}s`;
}

/** Events that --itemize prints as change lines. */
const ITEMIZED = new Set<SyncEvent['type']>(['file', 'mkdir', 'symlink', 'delete']);

/** Whether the progress display runs, by the rules of ReporterOptions.progress. */
function progressEnabled(options: ReporterOptions, env: NodeJS.ProcessEnv): boolean {
  if (options.progress === false || options.level === 'off') return false;
  if (options.progress === true) return true;
  return options.stderr.isTTY === true && env.TERM !== 'dumb' && !options.json && options.level !== 'quiet';
}

/**
 * Turns sync events into output: human lines through consola (warnings and errors on stderr),
 * or with --json one JSON object per line on stdout, with human lines moved to stderr. On a
 * terminal, a live progress display on stderr, and colour.
 */
export class Reporter {
  readonly logger: ConsolaInstance;
  readonly #options: ReporterOptions;
  readonly #progress: ProgressDisplay | undefined;
  /** Colours for human lines on stdout (never in --json mode: stdout is NDJSON) and stderr. */
  readonly #outColors: Palette;
  readonly #errColors: Palette;
  /** stdout when it is a pipe or a file: lines in batches (a terminal gets each line at once). */
  readonly #stdoutBatch: LineBatcher | undefined;

  constructor(options: ReporterOptions) {
    this.#options = options;
    const batch = options.stdout.isTTY === true ? undefined : new LineBatcher(options.stdout);
    this.#stdoutBatch = batch;
    const env = options.env ?? process.env;
    const out = options.json ? options.stderr : options.stdout;
    this.#outColors = palette(colorEnabled(out, env));
    this.#errColors = palette(colorEnabled(options.stderr, env));
    const progress = progressEnabled(options, env) ? new ProgressDisplay({ stream: options.stderr }) : undefined;
    this.#progress = progress;
    const red = this.#errColors.red;
    const yellow = this.#errColors.yellow;
    // Lines on stderr share the progress lines' stream; lines on stdout only matter when stdout
    // is the same terminal (redirected to a file, they must not cost a redraw each).
    // stdout's held lines go first, so that both streams redirected to one file keep their order.
    const write = (stream: ReporterStream, text: string) => {
      if (stream === options.stdout && batch !== undefined) return batch.write(text);
      batch?.flush();
      if (progress !== undefined && (stream === options.stderr || stream.isTTY === true)) progress.around(() => stream.write(text));
      else stream.write(text);
    };
    this.logger = createConsola({
      // In JSON mode the events already say everything: human lines keep only problems.
      level: options.json ? Math.min(CONSOLA_LEVEL[options.level], 1) : CONSOLA_LEVEL[options.level],
      reporters: [
        {
          log: (entry: LogObject) => {
            const text = format(...entry.args);
            if (entry.level <= 0) write(options.stderr, `${red('pareco: error:')} ${text}\n`);
            else if (entry.level === 1) write(options.stderr, `${yellow('pareco: warning:')} ${text}\n`);
            else write(out, `${text}\n`);
          },
        },
      ],
    });
  }

  event(event: SyncEvent): void {
    // First, so that the lines logged below are redrawn under with the new counts.
    this.#progress?.event(event);
    if (this.#options.json) {
      // Per-chunk detail only at --log-level chunks.
      if ((event.type !== 'chunk' && event.type !== 'matched') || this.#options.level === 'chunks') this.#json(event);
      return;
    }
    const log = this.logger;
    if (this.#options.itemize !== undefined && ITEMIZED.has(event.type)) {
      const line = itemize(event, this.#options.itemize);
      if (line !== undefined) log.info(printable(line));
      return;
    }
    switch (event.type) {
      case 'connected':
        log.info(`connected to pareco-server ${event.server}: session ${event.session}, ${event.lanes} connections`);
        break;
      case 'file':
        if (event.action === 'new') log.info(`new       ${printable(event.path)} (${formatSize(event.size)})`);
        else if (event.action === 'update') log.info(`updated   ${printable(event.path)} (${formatSize(event.bytesSent)} of ${formatSize(event.size)} sent)`);
        else if (event.action === 'metadata') log.info(`metadata  ${printable(event.path)}`);
        else log.debug(this.#outColors.dim(`uptodate  ${printable(event.path)}`));
        break;
      case 'chunk':
        log.debug(`chunk     ${printable(event.path)} @${event.offset} (${formatSize(event.length)})`);
        break;
      case 'mkdir':
        log.info(`mkdir     ${printable(event.path)}/`);
        break;
      case 'symlink':
        log.info(`symlink   ${printable(event.path)} -> ${printable(event.target)}`);
        break;
      case 'delete':
        log.info(`deleted   ${printable(event.path)}${event.kind === 'dir' ? '/' : event.kind === 'partial' ? ' (partial file of an interrupted transfer)' : ''}`);
        break;
      case 'retry':
        log.warn(`${printable(event.message)}; retrying in ${formatWait(event.waitMs)} (retry ${event.retry} of ${event.retries})`);
        break;
      case 'lost':
        log.warn(`${event.lanes === event.total ? `all ${event.total}` : `${event.lanes} of ${event.total}`} connections dropped: ${printable(event.message)}; reconnecting`);
        break;
      case 'reconnected':
        log.info('reconnected');
        break;
      case 'warning':
        log.warn(printable(event.message));
        break;
      case 'error':
        log.error(printable(event.message));
        break;
    }
  }

  summary(summary: SyncSummary): void {
    // The summary says all the progress lines said: they go, and the screen ends as in a log.
    this.#progress?.stop();
    if (this.#options.json) {
      this.#json({ type: 'summary', ...summary });
      this.flush();
      return;
    }
    const seconds = Math.max(summary.durationMs, 1) / 1000;
    const rate = (bytes: number) => `${formatSize(Math.round(bytes / seconds))}/s`;
    this.logger.log(
      [
        `files: ${summary.filesTotal} total, ${summary.filesTransferred} transferred, ${summary.filesSkipped} skipped, ` +
          `${summary.filesDeleted} deleted` +
          (summary.dirsDeleted > 0 ? ` (+${summary.dirsDeleted} directories)` : '') +
          (summary.filesFailed > 0 ? `, ${summary.filesFailed} failed` : '') +
          (summary.filesChanged > 0 ? `, ${summary.filesChanged} changed during transfer` : '') +
          (summary.aborted ? ' (interrupted)' : '') +
          (summary.dryRun ? ' (dry run: nothing was changed)' : ''),
        `bytes: ${formatSize(summary.bytesTotal)} total, ${formatSize(summary.bytesTransferred)} transferred, ${formatSize(summary.bytesSkipped)} skipped`,
        `wire: ${formatSize(summary.wire.sent)} sent, ${formatSize(summary.wire.received)} received${summary.wire.compressed ? ' (compressed)' : ''}`,
        `time: ${seconds.toFixed(2)}s, speed ${rate(summary.bytesTransferred)}, effective ${rate(summary.bytesTotal)}`,
        ...cacheLine(summary),
      ].join('\n'),
    );
    this.flush();
  }

  /** A fatal error: one line (the stack too at --log-level chunks or with DEBUG set). */
  fatal(error: unknown): void {
    this.#progress?.stop();
    this.flush();
    const message = error instanceof Error ? error.message : String(error);
    if (this.#options.level !== 'off') this.#options.stderr.write(`${this.#errColors.red('pareco: error:')} ${message}\n`);
    if ((this.#options.level === 'chunks' || process.env.DEBUG) && error instanceof Error && error.stack) {
      this.#options.stderr.write(`${error.stack}\n`);
    }
    if (this.#options.json) {
      const code = (error as { code?: unknown }).code;
      this.#json({ type: 'error', fatal: true, code: typeof code === 'string' ? code : 'ERROR', message });
    }
    this.flush();
  }

  /** Writes the stdout lines held for a batch (before an exit that skips the event loop). */
  flush(): void {
    this.#stdoutBatch?.flush();
  }

  #json(value: object): void {
    const line = `${JSON.stringify(value)}\n`;
    if (this.#stdoutBatch !== undefined) this.#stdoutBatch.write(line);
    else this.#options.stdout.write(line);
  }
}

/** What the digest cache saved, when it saved anything: files not read on either side. */
function cacheLine({ cached: { local, remote } }: SyncSummary): string[] {
  if (local.files === 0 && remote.files === 0) return [];
  const side = (saving: { files: number; bytes: number }, where: string) => `${saving.files} files (${formatSize(saving.bytes)}) ${where}`;
  return [`digests from the cache, not read: ${side(local, 'here')}, ${side(remote, 'on the server')}`];
}
