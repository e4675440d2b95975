import type { Writable } from 'node:stream';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { defaultCacheDir } from '../fs/cache-dir.js';
import { COMPRESSION_LEVELS, HASHES, LIMITS, MODES, PROTOCOL_VERSION, type HashName, type Mode } from '../../protocol/index.js';
import { sync, SYNC_DEFAULTS } from '../client/sync.js';
import type { SyncSummary } from '../client/sync-report.js';
import { DEFAULT_HEARTBEAT } from '../transport/heartbeat.js';
import { probeServer } from '../client/server-probe.js';
import type { ProxySetting } from '../transport/proxy-for.js';
import { VERSION } from '../version.js';
import { ExitCode, exitCodeOfError, exitCodeOfSummary } from './exit-codes.js';
import { collect, durationOption, integerOption, rateOption, sizeOption } from './option-parsers.js';
import { LOG_LEVELS, Reporter, type LogLevel } from './reporter.js';
import { emptySummary } from '../client/sync-report.js';

interface ClientOptions {
  mode: Mode;
  server?: string;
  localDir: string;
  remoteDir: string;
  numConnections: number;
  chunk: number;
  block?: number;
  hash: HashName;
  skipDigest?: boolean;
  cache: boolean;
  cacheDir?: string;
  deleteUnexpected?: boolean;
  inplace?: boolean;
  include?: string[];
  exclude?: string[];
  authToken?: string;
  proxy?: string | false;
  ca?: string;
  insecure?: boolean;
  timeout: number;
  connectTimeout: number;
  heartbeat: number;
  retries: number;
  retryWait: number;
  fsync?: boolean;
  dryRun?: boolean;
  maxDelete?: number;
  bwlimit?: number;
  compress?: boolean;
  compressLevel?: number;
  logLevel: LogLevel;
  json?: boolean;
  itemize?: boolean;
  progress?: boolean;
}

/** Pareco's own camelCase spellings, accepted but not shown in --help. */
const hidden = (flags: string, description = '') => new Option(flags, description).hideHelp();

/** How the client reaches a server: the same options for a sync and for `--version --server`. */
function withConnectionOptions(command: Command): Command {
  return command
    .option('-s, --server <url>', 'server URL, http(s):// or ws(s):// with an optional path prefix (default: an embedded server on this machine)')
    .addOption(new Option('-a, --auth-token <token>', 'bearer token for the server').env('PARECO_AUTH_TOKEN'))
    .option('--proxy <url>', 'HTTP proxy to tunnel through with CONNECT, http://[user:password@]host:port (default: HTTPS_PROXY for wss://, HTTP_PROXY for ws://, minus NO_PROXY)')
    .option('--no-proxy', 'connect directly, ignoring the proxy environment variables')
    .option('--ca <file>', 'trust the CA certificates in this PEM file for wss:// (besides the public ones and NODE_EXTRA_CA_CERTS)')
    .option('--insecure', "do not verify the server's TLS certificate (anyone on the path could read and change the data)")
    .addOption(new Option('--connect-timeout <duration>', 'time allowed to connect').argParser(durationOption(1)).default(SYNC_DEFAULTS.connectTimeout, '10s'))
    .addOption(hidden('--authToken <token>'))
    .addOption(hidden('--connectTimeout <duration>').argParser(durationOption(1)));
}

function program(): Command {
  const command = new Command('pareco')
    .description('Copy or synchronise a directory with a pareco-server over parallel WebSocket connections.')
    .option('-v, --version', 'print the version and exit; with --server, the server\'s version too')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('-m, --mode <mode>', 'upload (local → remote) or download (remote → local)').choices(MODES).makeOptionMandatory())
    .requiredOption('-l, --local-dir <dir>', 'local directory')
    .requiredOption('-r, --remote-dir <dir>', "remote directory (relative paths start at the server's working directory)");
  return withConnectionOptions(command)
    .option('-n, --num-connections <n>', 'number of parallel connections', integerOption(1, 256), SYNC_DEFAULTS.connections)
    .addOption(new Option('-c, --chunk <size>', 'chunk size (200, 30K, 2M, 1G)').argParser(sizeOption(LIMITS.minChunk, LIMITS.maxChunk)).default(SYNC_DEFAULTS.chunk, '1M'))
    .option('--block <size>', 'inside a chunk that differs, compare and send blocks of this size (default 8K)', sizeOption(1, LIMITS.maxChunk))
    .addOption(new Option('--hash <name>', 'chunk digest').choices(HASHES).default(SYNC_DEFAULTS.hash))
    .option('--skip-digest', 'skip files whose size and mtime are equal without comparing digests')
    .option('--cache-dir <dir>', 'keep digests of files read or written here between syncs (default: $XDG_CACHE_HOME/pareco, else ~/.cache/pareco)')
    .option('--no-cache', 'read every file compared, trusting no digest kept from an earlier sync')
    .option('--delete-unexpected', 'delete destination entries that are not in the source (within the filters)')
    .addOption(new Option('--delete', 'alias of --delete-unexpected').implies({ deleteUnexpected: true }))
    .option('--inplace', 'write into destination files directly instead of a partial file renamed at the end')
    .option('-i, --include <glob>', 'only transfer paths matching the glob (repeatable)', collect)
    .option('-e, --exclude <glob>', 'never transfer paths matching the glob (repeatable; beats --include)', collect)
    .addOption(new Option('-t, --timeout <duration>', 'a connection or request silent this long is dead (100ms, 3s, 4m, 2h)').argParser(durationOption(100)).default(SYNC_DEFAULTS.timeout, '60s'))
    .addOption(new Option('--heartbeat <duration>', 'ping every connection this often').argParser(durationOption(100)).default(DEFAULT_HEARTBEAT.interval, '15s'))
    .option('--retries <n>', 'reconnection attempts per connection, and new sessions after losing one', integerOption(0, 1000), SYNC_DEFAULTS.retries)
    .addOption(new Option('--retry-wait <duration>', 'first wait before reconnecting (doubles each attempt, with jitter)').argParser(durationOption(1)).default(SYNC_DEFAULTS.retryWait, '1s'))
    .option('-N, --dry-run', 'show what would be transferred, updated and deleted; change nothing')
    .option('--max-delete <n>', 'with --delete: delete nothing (exit 25) if more than n entries would go', integerOption(0, Number.MAX_SAFE_INTEGER))
    .option('-z, --compress', 'compress file data with zstd where it shrinks (for slow links; costs CPU on both sides)')
    .option(
      '--compress-level <n>',
      `zstd level, ${COMPRESSION_LEVELS.min} (fastest) to ${COMPRESSION_LEVELS.max} (smallest); implies --compress (default ${COMPRESSION_LEVELS.default})`,
      integerOption(COMPRESSION_LEVELS.min, COMPRESSION_LEVELS.max),
    )
    .option('--bwlimit <rate>', 'limit file data to this many bytes per second over all connections (500K, 10M)', rateOption(1024))
    .option('--fsync', 'flush each file and its directory entry to disk before it is renamed into place')
    .addOption(new Option('--log-level <level>', 'output detail').choices(LOG_LEVELS).default('files'))
    .option('--itemize', 'print one rsync-style line per changed entry (<f.st...... path) instead of the descriptive lines')
    .option('--progress', 'show the live progress lines on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show the progress lines')
    .option('--json', 'print one JSON object per line on stdout, ending with a summary')
    .addOption(hidden('--localDir <dir>'))
    .addOption(hidden('--remoteDir <dir>'))
    .addOption(hidden('--numConnections <n>').argParser(integerOption(1, 256)))
    .addOption(hidden('--skipDigest'))
    .addOption(hidden('--deleteUnexpected'))
    .addOption(hidden('--logLevel <level>').choices(LOG_LEVELS))
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
}

/** Runs the pareco client CLI and resolves with the process exit code. */
export async function runClient(argv: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const command = program()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => {}, outputError: () => {} });
  if (argv.includes('-v') || argv.includes('--version')) return printVersions(argv, io);
  let options: ClientOptions;
  try {
    command.parse(argv, { from: 'user' });
    options = command.opts<ClientOptions>();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.OK; // --help, --version
      io.stderr.write(`pareco: ${error.message.replace(/^error: /, '')}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }

  if (options.cacheDir !== undefined && !options.cache) {
    io.stderr.write('pareco: --cache-dir and --no-cache contradict each other\n');
    return ExitCode.USAGE;
  }

  const reporter = new Reporter({
    level: options.logLevel,
    json: options.json ?? false,
    progress: options.progress,
    itemize: options.itemize ? options.mode : undefined,
    ...io,
  });
  if (options.insecure && options.server !== undefined) {
    reporter.logger.warn("--insecure: the server's TLS certificate is not checked; anyone on the path could read and change the data");
  }
  // First Ctrl-C: stop scheduling, let in-flight requests finish, print the summary, exit 130.
  // A second one exits at once.
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) {
      reporter.flush();
      process.exit(ExitCode.INTERRUPTED);
    }
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: SyncSummary;
  try {
    summary = await sync({
      mode: options.mode,
      localDir: options.localDir,
      remoteDir: options.remoteDir,
      ...(options.server === undefined ? {} : { server: options.server }),
      ...(options.authToken === undefined ? {} : { token: options.authToken }),
      ...connectionSettings(options),
      connections: options.numConnections,
      chunk: options.chunk,
      ...(options.block === undefined ? {} : { block: options.block }),
      hash: options.hash,
      skipDigest: options.skipDigest ?? false,
      ...(options.cache ? { cacheDir: resolve(options.cacheDir ?? defaultCacheDir()) } : {}),
      deleteUnexpected: options.deleteUnexpected ?? false,
      inplace: options.inplace ?? false,
      include: options.include ?? [],
      exclude: options.exclude ?? [],
      timeout: options.timeout,
      connectTimeout: options.connectTimeout,
      heartbeat: options.heartbeat,
      retries: options.retries,
      retryWait: options.retryWait,
      fsync: options.fsync ?? false,
      dryRun: options.dryRun ?? false,
      ...(options.maxDelete === undefined ? {} : { maxDelete: options.maxDelete }),
      ...(options.bwlimit === undefined ? {} : { bwlimit: options.bwlimit }),
      ...(options.compress || options.compressLevel !== undefined ? { compress: options.compressLevel ?? COMPRESSION_LEVELS.default } : {}),
      signal: interrupt.signal,
      // Unchanged files one by one only where they are shown (they are most files of a re-sync).
      reportUnchanged: options.logLevel === 'chunks',
      onEvent: (event) => reporter.event(event),
    });
  } catch (error) {
    reporter.fatal(error);
    if (options.json) reporter.summary({ ...emptySummary(), ok: false });
    return exitCodeOfError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  reporter.summary(summary);
  if (summary.aborted) reporter.logger.warn('interrupted: partial files are kept, and the next run resumes from them');
  return exitCodeOfSummary(summary);
}

/** Proxy and TLS settings shared by a sync and a version probe. */
function connectionSettings(options: Pick<ClientOptions, 'proxy' | 'ca' | 'insecure'>): { proxy: ProxySetting; caFile?: string; insecure: boolean } {
  return {
    proxy: options.proxy === false ? { kind: 'none' } : options.proxy === undefined ? { kind: 'env' } : { kind: 'url', url: options.proxy },
    ...(options.ca === undefined ? {} : { caFile: options.ca }),
    insecure: options.insecure ?? false,
  };
}

/**
 * `pareco --version`: the client's version, and with --server the server's too (one
 * connection, the way a sync makes it: token, proxy, TLS options apply; no session is opened).
 */
async function printVersions(argv: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  io.stdout.write(`pareco ${VERSION} (protocol ${PROTOCOL_VERSION}, node ${process.version})\n`);
  const command = withConnectionOptions(new Command().option('-v, --version'))
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  let options: Pick<ClientOptions, 'server' | 'authToken' | 'proxy' | 'ca' | 'insecure' | 'connectTimeout'>;
  try {
    options = command.parse(argv, { from: 'user' }).opts();
  } catch (error) {
    io.stderr.write(`pareco: ${(error as Error).message.replace(/^error: /, '')}\n`);
    return ExitCode.USAGE;
  }
  if (options.server === undefined) return ExitCode.OK;
  try {
    const server = await probeServer(options.server, {
      ...(options.authToken === undefined ? {} : { token: options.authToken }),
      ...connectionSettings(options),
      connectTimeout: options.connectTimeout,
    });
    const said = /^(\S+); protocol=(\d+)$/.exec(server);
    io.stdout.write(`server: pareco-server ${said === null ? server : `${said[1]} (protocol ${said[2]})`} at ${options.server}\n`);
    return ExitCode.OK;
  } catch (error) {
    io.stderr.write(`pareco: error: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeOfError(error);
  }
}
