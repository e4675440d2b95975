import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { startServer } from '../server/server.js';
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
  logFormat: LogFormat;
}

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
    .addOption(new Option('--log-format <format>', 'log lines as plain text or one JSON object per line').choices(LOG_FORMATS).default('plain'))
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
    try {
      token = (await readFile(options.authTokenFile, 'utf8')).split(/\r?\n/)[0]!.trim();
    } catch (error) {
      return usage(`cannot read --auth-token-file ${options.authTokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (token === '') return usage(`--auth-token-file ${options.authTokenFile} is empty`);
  }
  if (options.generateAuth) token = randomBytes(24).toString('base64url');
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) return usage('the auth token must be printable ASCII without spaces');

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
  if (token === undefined) log({ event: 'no-auth', loopback: isLoopback(host) });

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log({ event: 'shutting-down' });
  await server.close();
  return ExitCode.OK;
}
