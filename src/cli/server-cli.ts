import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { defaultCacheDir } from '../fs/cache-dir.js';
import { normaliseBasePath, startServer } from '../server/server.js';
import { jsonLine, LOG_FORMATS, plainLine, type LogFormat, type ServerLog } from '../server/server-log.js';
import { DEFAULT_HEARTBEAT } from '../transport/heartbeat.js';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { VERSION } from '../version.js';
import { ExitCode } from './exit-codes.js';
import { collect, durationOption, integerOption } from './option-parsers.js';
import { printable } from './printable.js';
import { REGISTRY_DEFAULTS } from '../server/session-registry.js';

interface ServerCliOptions {
  port: number;
  host?: string;
  authToken?: string;
  authTokenFile?: string;
  generateAuth?: boolean;
  insecureNoAuth?: boolean;
  expire: number;
  heartbeat: number;
  basePath?: string;
  root?: string[];
  readOnly?: boolean;
  maxSessions: number;
  maxLanes: number;
  metrics: boolean;
  metricsToken?: string;
  metricsTokenFile?: string;
  logFormat: LogFormat;
  drainTimeout: number;
  cache: boolean;
  cacheDir?: string;
}

/**
 * How long a drain waits for running syncs by default. A rolling restart pays it once per
 * process, so it must stay short; a sync still running after it is not lost (its client
 * reconnects, lands on another server and resumes from the partial files), it only pays for a
 * new comparison. A minute lets most syncs in flight finish, and stays under systemd's
 * default stop timeout (90 s).
 */
const DEFAULT_DRAIN_TIMEOUT = 60_000;

const hidden = (flags: string) => new Option(flags).hideHelp();

function program(): Command {
  return new Command('pareco-server')
    .description('Serve directories to pareco clients over WebSocket.')
    .version(`pareco-server ${VERSION} (protocol ${PROTOCOL_VERSION}, node ${process.version})`, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', integerOption(0, 65535), 8080)
    .option('--host <address>', 'bind address (default: 0.0.0.0 with a token, 127.0.0.1 without)')
    .addOption(new Option('-a, --auth-token <token>', 'bearer token clients must present').env('PARECO_AUTH_TOKEN'))
    .option('--auth-token-file <file>', 'read the token from a file (first line)')
    .option('-g, --generate-auth', 'generate a random token, print it, and require it')
    .option('--insecure-no-auth', 'allow binding a non-loopback address without a token')
    .addOption(new Option('-e, --expire <duration>', 'a session with no connection left expires after this (150s, 5m)').argParser(durationOption(100)).default(150_000, '150s'))
    .addOption(new Option('--heartbeat <duration>', 'ping every connection this often; a peer silent 4 times as long (at least 60s) is dropped').argParser(durationOption(100)).default(DEFAULT_HEARTBEAT.interval, '15s'))
    .option('--root <dir>', 'confine sessions to this directory (repeatable); relative remote dirs still start at the working directory', collect)
    .option('--read-only', 'allow download sessions only')
    .option('--max-sessions <n>', 'sessions at once', integerOption(1, 100_000), REGISTRY_DEFAULTS.maxSessions)
    .option('--max-lanes <n>', 'connections per session', integerOption(1, 10_000), REGISTRY_DEFAULTS.maxLanes)
    .option('--base-path <path>', 'URL path prefix, e.g. /pareco (endpoint: /pareco/v1/ws)')
    .option('--cache-dir <dir>', 'keep the digest cache here (default: $XDG_CACHE_HOME/pareco, else ~/.cache/pareco)')
    .option('--no-cache', 'keep no digest cache: every file compared is read')
    .option('--no-metrics', 'serve no Prometheus metrics at <base path>/metrics')
    .addOption(new Option('--metrics-token <token>', 'token a metrics scrape must present (default: the auth token)').env('PARECO_METRICS_TOKEN'))
    .option('--metrics-token-file <file>', 'read the metrics token from a file (first line)')
    .addOption(new Option('--log-format <format>', 'log lines as plain text or one JSON object per line').choices(LOG_FORMATS).default('plain'))
    .addOption(
      new Option('--drain-timeout <duration>', 'on SIGTERM/SIGINT, wait this long for running sessions before ending them (0: end them at once)')
        .argParser(durationOption(0))
        .default(DEFAULT_DRAIN_TIMEOUT, '60s'),
    )
    .addOption(hidden('--authToken <token>'))
    .addOption(hidden('--generateAuth'))
    .addOption(hidden('--basePath <path>'))
    .allowExcessArguments(false);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Runs pareco-server until SIGINT/SIGTERM; resolves with the exit code. */
export async function runServer(argv: string[]): Promise<number> {
  const command = program()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  let options: ServerCliOptions;
  try {
    command.parse(argv, { from: 'user' });
    options = command.opts<ServerCliOptions>();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.OK;
      process.stderr.write(`pareco-server: ${error.message.replace(/^error: /, '')}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }
  const usage = (message: string) => {
    process.stderr.write(`pareco-server: ${message}\n`);
    return ExitCode.USAGE;
  };

  let token = options.authToken;
  if (options.authTokenFile !== undefined) {
    const read = await tokenFromFile('--auth-token-file', options.authTokenFile);
    if (typeof read !== 'string') return usage(read.problem);
    token = read;
  }
  if (options.generateAuth) token = randomBytes(24).toString('base64url');
  if (token !== undefined && !PRINTABLE_TOKEN.test(token)) return usage('the auth token must be printable ASCII without spaces');

  let metricsToken = options.metricsToken;
  if (options.metricsTokenFile !== undefined) {
    const read = await tokenFromFile('--metrics-token-file', options.metricsTokenFile);
    if (typeof read !== 'string') return usage(read.problem);
    metricsToken = read;
  }
  if (metricsToken !== undefined && !options.metrics) return usage('a metrics token has no use with --no-metrics');
  if (metricsToken !== undefined && !PRINTABLE_TOKEN.test(metricsToken)) return usage('the metrics token must be printable ASCII without spaces');

  if (options.cacheDir !== undefined && !options.cache) return usage('--cache-dir and --no-cache contradict each other');
  const cacheDir = options.cache ? resolve(options.cacheDir ?? defaultCacheDir()) : undefined;

  const host = options.host ?? (token === undefined ? '127.0.0.1' : '0.0.0.0');
  if (token === undefined && !isLoopback(host) && !options.insecureNoAuth) {
    return usage(`refusing to listen on ${host} without an auth token: use -a/-g, or --insecure-no-auth`);
  }

  const log: ServerLog =
    options.logFormat === 'json'
      ? (event) => process.stdout.write(`${jsonLine(event)}\n`)
      : // Client-chosen text (directories, X-Forwarded-For) must not forge or garble log lines.
        (event) => process.stdout.write(`${printable(plainLine(event))}\n`);
  let server;
  try {
    server = await startServer({
      port: options.port,
      host,
      ...(token === undefined ? {} : { token }),
      expire: options.expire,
      roots: options.root ?? [],
      readOnly: options.readOnly ?? false,
      maxSessions: options.maxSessions,
      maxLanes: options.maxLanes,
      heartbeat: { interval: options.heartbeat, timeout: Math.max(options.heartbeat * 4, 60_000) },
      ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
      ...(options.metrics ? { metrics: metricsToken === undefined ? {} : { token: metricsToken } } : {}),
      ...(cacheDir === undefined ? {} : { cache: cacheDir }),
      log,
    });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const what = errno === 'ENOENT' && options.root !== undefined ? 'a --root directory does not exist' : `cannot listen on ${host}:${options.port}`;
    process.stderr.write(`pareco-server: ${what}: ${(error as Error).message}\n`);
    return ExitCode.ERROR;
  }

  if (options.generateAuth) log({ event: 'auth-token', token: token! });
  log({ event: 'listening', version: VERSION, host: server.host, port: server.port, url: server.url });
  log({ event: 'roots', roots: options.root ?? [] });
  if (options.readOnly) log({ event: 'read-only' });
  log({ event: 'digest-cache', dir: server.cacheInUse ? cacheDir! : null });
  if (token === undefined) log({ event: 'no-auth', loopback: isLoopback(host) });
  if (options.metrics) {
    const path = `${normaliseBasePath(options.basePath)}/metrics`;
    log({ event: 'metrics', path, access: metricsToken !== undefined ? 'metrics-token' : token !== undefined ? 'auth-token' : 'open' });
  }

  // The first SIGTERM or SIGINT drains; the next one ends the drain at once; any later one
  // exits without waiting for anything.
  const again = new AbortController();
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) resolve();
      else if (signals === 2) again.abort();
      else process.exit(ExitCode.OK);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  log({ event: 'shutting-down' });
  const running = server.running;
  if (running > 0) log({ event: 'drain-started', sessions: running, timeoutMs: options.drainTimeout });
  const outcome = await server.drain(options.drainTimeout, again.signal);
  if (outcome !== 'drained') log({ event: 'drain-aborted', sessions: server.sessions.size, why: outcome });
  else if (running > 0) log({ event: 'drained' });
  await server.close();
  return ExitCode.OK;
}

const PRINTABLE_TOKEN = /^[\x21-\x7e]+$/;

/** A token from a file's first line, or the problem with it. */
async function tokenFromFile(option: string, file: string): Promise<string | { problem: string }> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).split(/\r?\n/)[0]!.trim();
  } catch (error) {
    return { problem: `cannot read ${option} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  return token === '' ? { problem: `${option} ${file} is empty` } : token;
}
