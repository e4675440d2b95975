import type { Mode } from '../../protocol/index.js';

/**
 * Everything pareco-server logs, as structured events: the code says what happened and with
 * which fields; `plainLine` and `jsonLine` decide how it looks. Field names are the JSON keys.
 */
export type ServerEvent =
  | { event: 'listening'; version: string; host: string; port: number; url: string }
  | { event: 'auth-token'; token: string }
  | { event: 'roots'; roots: string[] }
  | { event: 'read-only' }
  | { event: 'no-auth'; loopback: boolean }
  | { event: 'metrics'; path: string; access: 'auth-token' | 'metrics-token' | 'open' }
  /** Where digests of files read or written are kept between syncs; null: nowhere (--no-cache). */
  | { event: 'digest-cache'; dir: string | null }
  /** The digest cache cannot be used: files are read to be compared, as without one. */
  | { event: 'cache-warning'; message: string }
  | { event: 'session-opened'; session: string; client: string; mode: Mode; dry: boolean; dir: string }
  | { event: 'lane-joined'; session: string; client: string; lanes: number }
  /** A lane closed by the server for a protocol error. */
  | { event: 'lane-closed'; client: string; code: string; error: string }
  /** A lane's socket failed. */
  | { event: 'lane-error'; client: string; error: string }
  | {
      event: 'session-ended';
      session: string;
      reason: string;
      mode: Mode;
      dir: string;
      client: string;
      bytesReceived: number;
      bytesSent: number;
      /** Files and bytes whose digests came from the digest cache instead of being read. */
      cachedFiles: number;
      cachedBytes: number;
      durationMs: number;
    }
  | { event: 'shutting-down' }
  | { event: 'drain-started'; sessions: number; timeoutMs: number }
  | { event: 'drained' }
  /** The drain ended before the sessions did (its timeout, or a second signal): they are aborted. */
  | { event: 'drain-aborted'; sessions: number; why: 'timeout' | 'signal' };

export type ServerLog = (event: ServerEvent) => void;

export type LogFormat = 'plain' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['plain', 'json'];

type Level = 'info' | 'warn';

const WARNINGS = new Set<ServerEvent['event']>(['no-auth', 'lane-closed', 'lane-error', 'drain-aborted', 'cache-warning']);

function levelOf(event: ServerEvent): Level {
  return WARNINGS.has(event.event) ? 'warn' : 'info';
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The line a person reads: the wording pareco-server has always used (tests and scripts match it). */
export function plainLine(e: ServerEvent): string {
  switch (e.event) {
    case 'listening':
      return `pareco-server ${e.version} listening on ${e.host} port: ${e.port} (${e.url})`;
    case 'auth-token':
      return `auth token: ${e.token}`;
    case 'roots':
      return e.roots.length === 0 ? 'serving any directory this process may access (confine with --root)' : `serving only inside: ${e.roots.join(', ')}`;
    case 'read-only':
      return 'read-only: downloads only';
    case 'no-auth':
      return e.loopback
        ? 'no auth token: anyone on this machine can connect'
        : 'WARNING: no auth token and not on loopback: anyone who can reach this port can read and write files';
    case 'metrics': {
      const access = { 'auth-token': 'with the auth token', 'metrics-token': 'with the metrics token', open: 'without a token' }[e.access];
      return `metrics at ${e.path} (${access})`;
    }
    case 'digest-cache':
      return e.dir === null ? 'no digest cache: every file compared is read' : `digest cache in ${e.dir}`;
    case 'cache-warning':
      return `digest cache: ${e.message}`;
    case 'session-opened':
      return `session ${e.session} opened by ${e.client}: ${e.mode}${e.dry ? ' (dry run)' : ''} ${e.dir}`;
    case 'lane-joined':
      return `session ${e.session} joined by ${e.client} (${e.lanes} connections)`;
    case 'lane-closed':
      return `lane from ${e.client} closed: ${e.error}`;
    case 'lane-error':
      return `lane from ${e.client}: ${e.error}`;
    case 'session-ended':
      return `session ${e.session} ${e.reason}: ${e.mode} ${e.dir} for ${e.client}, ${e.bytesReceived} bytes in, ${e.bytesSent} bytes out${e.cachedFiles > 0 ? `, digests of ${e.cachedFiles} files (${e.cachedBytes} bytes) from the cache` : ''}, ${seconds(e.durationMs)}`;
    case 'shutting-down':
      return 'shutting down';
    case 'drain-started':
      return `draining: ${e.sessions} session${e.sessions === 1 ? '' : 's'} running, new sessions refused; waiting up to ${seconds(e.timeoutMs)} for them (SIGTERM or SIGINT again stops at once)`;
    case 'drained':
      return 'drained: no session left running';
    case 'drain-aborted':
      return `${e.why === 'timeout' ? 'drain timeout' : 'second signal'}: ending ${e.sessions} session${e.sessions === 1 ? '' : 's'} now (partial files are kept)`;
  }
}

/**
 * One JSON object on one line: time, level, event, then the event's fields. JSON.stringify
 * escapes control characters; U+2028 and U+2029 are escaped as well, so that no tool that
 * splits on them sees a line break inside a client-chosen directory name.
 */
export function jsonLine(e: ServerEvent, time = new Date()): string {
  const { event, ...fields } = e;
  return JSON.stringify({ time: time.toISOString(), level: levelOf(e), event, ...fields }).replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}
