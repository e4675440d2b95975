import { createConsola, type ConsolaInstance, type LogObject } from 'consola';
import type { Writable } from 'node:stream';
import { format } from 'node:util';
import type { SyncEvent, SyncSummary } from '../client/sync-report.js';
import { formatSize } from './parse-size.js';

/** Pareco's log levels, from silent to chatty. */
export const LOG_LEVELS = ['off', 'quiet', 'stats', 'files', 'chunks'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// consola levels: 0 error, 1 warn, 2 log, 3 info, 4 debug.
const CONSOLA_LEVEL: Record<LogLevel, number> = { off: -999, quiet: 1, stats: 2, files: 3, chunks: 4 };

export interface ReporterOptions {
  level: LogLevel;
  json: boolean;
  stdout: Writable;
  stderr: Writable;
}

/**
 * Turns sync events into output: human lines through consola (warnings and errors on stderr),
 * or with --json one JSON object per line on stdout, with human lines moved to stderr.
 */
export class Reporter {
  readonly logger: ConsolaInstance;
  readonly #options: ReporterOptions;

  constructor(options: ReporterOptions) {
    this.#options = options;
    const out = options.json ? options.stderr : options.stdout;
    this.logger = createConsola({
      // In JSON mode the events already say everything: human lines keep only problems.
      level: options.json ? Math.min(CONSOLA_LEVEL[options.level], 1) : CONSOLA_LEVEL[options.level],
      reporters: [
        {
          log: (entry: LogObject) => {
            const text = format(...entry.args);
            if (entry.level <= 0) options.stderr.write(`pareco: error: ${text}\n`);
            else if (entry.level === 1) options.stderr.write(`pareco: warning: ${text}\n`);
            else out.write(`${text}\n`);
          },
        },
      ],
    });
  }

  event(event: SyncEvent): void {
    if (this.#options.json) {
      if (event.type !== 'chunk' || this.#options.level === 'chunks') this.#json(event);
      return;
    }
    const log = this.logger;
    switch (event.type) {
      case 'connected':
        log.debug(`connected: session ${event.session}, ${event.lanes} connections, server pareco ${event.server}`);
        break;
      case 'file':
        if (event.action === 'new') log.info(`new       ${event.path} (${formatSize(event.size)})`);
        else if (event.action === 'update') log.info(`updated   ${event.path} (${formatSize(event.bytesSent)} of ${formatSize(event.size)} sent)`);
        else if (event.action === 'metadata') log.info(`metadata  ${event.path}`);
        else log.debug(`uptodate  ${event.path}`);
        break;
      case 'chunk':
        log.debug(`chunk     ${event.path} @${event.offset} (${formatSize(event.length)})`);
        break;
      case 'mkdir':
        log.info(`mkdir     ${event.path}/`);
        break;
      case 'symlink':
        log.info(`symlink   ${event.path} -> ${event.target}`);
        break;
      case 'delete':
        log.info(`deleted   ${event.path}${event.kind === 'dir' ? '/' : ''}`);
        break;
      case 'reconnected':
        log.info('reconnected');
        break;
      case 'warning':
        log.warn(event.message);
        break;
      case 'error':
        log.error(event.message);
        break;
    }
  }

  summary(summary: SyncSummary): void {
    if (this.#options.json) {
      this.#json({ type: 'summary', ...summary });
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
          (summary.aborted ? ' (interrupted)' : ''),
        `bytes: ${formatSize(summary.bytesTotal)} total, ${formatSize(summary.bytesTransferred)} transferred, ${formatSize(summary.bytesSkipped)} skipped`,
        `time: ${seconds.toFixed(2)}s, speed ${rate(summary.bytesTransferred)}, effective ${rate(summary.bytesTotal)}`,
      ].join('\n'),
    );
  }

  /** A fatal error: one line (the stack too at --log-level chunks or with DEBUG set). */
  fatal(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.#options.level !== 'off') this.#options.stderr.write(`pareco: error: ${message}\n`);
    if ((this.#options.level === 'chunks' || process.env.DEBUG) && error instanceof Error && error.stack) {
      this.#options.stderr.write(`${error.stack}\n`);
    }
    if (this.#options.json) {
      const code = (error as { code?: unknown }).code;
      this.#json({ type: 'error', fatal: true, code: typeof code === 'string' ? code : 'ERROR', message });
    }
  }

  #json(value: object): void {
    this.#options.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
