import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { blockSizeProblem, compressionAvailable, ErrorCode, ParecoError, type HashName, type Mode } from '../../protocol/index.js';
import { loadDigest } from '../digest/registry.js';
import { RangeDigest } from '../digest/range-digest.js';
import { DigestCache } from '../fs/digest-cache.js';
import { PathFilter } from '../fs/filter.js';
import { LocalTree } from '../fs/local-tree.js';
import { prepareTreeRoot } from '../fs/tree-root.js';
import type { RunningServer } from '../server/server.js';
import { Cancellation } from '../transport/cancellation.js';
import { DEFAULT_HEARTBEAT } from '../transport/heartbeat.js';
import type { ProxySetting } from '../transport/proxy-for.js';
import type { PoolOptions } from './lane-pool.js';
import { RateLimit } from './rate-limit.js';
import { runSessions } from './session-restarts.js';
import type { SyncEvent, SyncSummary } from './sync-report.js';
import { serverConnection, withRoute } from './server-url.js';

export interface SyncOptions {
  mode: Mode;
  localDir: string;
  remoteDir: string;
  /** Server URL (http, https, ws or wss). Without one, an embedded server on loopback is used. */
  server?: string;
  token?: string;
  /** HTTP proxy for the lanes: from the environment (default), none, or this URL. */
  proxy?: ProxySetting;
  /** PEM file with a CA to trust for wss:// besides the public ones. */
  caFile?: string;
  /** Do not verify the server's TLS certificate. */
  insecure?: boolean;
  /** Number of WebSocket connections (lanes). */
  connections?: number;
  /** Chunk size in bytes. */
  chunk?: number;
  /** Block size in bytes: inside a chunk that differs, only differing blocks are sent. */
  block?: number;
  hash?: HashName;
  /** Trust equal size and mtime instead of comparing digests. */
  skipDigest?: boolean;
  /**
   * Where digests of files read or written are kept between syncs (a file whose identity and
   * state did not change is not read again), on this side and on an embedded server's. None:
   * every file compared is read. Not used with skipDigest.
   */
  cacheDir?: string;
  /** Remove destination entries absent from the source (among those the filters select). */
  deleteUnexpected?: boolean;
  include?: string[];
  exclude?: string[];
  /** Write straight into destination files instead of a partial file renamed at commit. */
  inplace?: boolean;
  /** Milliseconds a connection may stay silent before it is considered dead. */
  timeout?: number;
  connectTimeout?: number;
  /** Milliseconds between heartbeat pings on every connection. */
  heartbeat?: number;
  /** Reconnection attempts of a lane, and new sessions after the session was lost. */
  retries?: number;
  /** First wait before reconnecting; doubles on each attempt, with jitter. */
  retryWait?: number;
  /** Flush file data and directory entries to disk before each rename. */
  fsync?: boolean;
  /** Compare and report, but change nothing on either side. */
  dryRun?: boolean;
  /** With deleteUnexpected: delete nothing when more than this many entries would go. */
  maxDelete?: number;
  /** Bytes per second of file data, all lanes together. */
  bwlimit?: number;
  /** Compress payloads with zstd at this level (1–19) where it pays, both ways. */
  compress?: number;
  /** Aborting stops the sync: in-flight requests finish, nothing new starts, the summary says so. */
  signal?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
  /** A `file` event for every unchanged file too (by default they are counted in `uptodate` events). */
  reportUnchanged?: boolean;
}

export const SYNC_DEFAULTS = {
  connections: 10,
  chunk: 1024 * 1024,
  block: 8 * 1024,
  hash: 'xxh64' as HashName,
  timeout: 60_000,
  connectTimeout: 10_000,
  retries: 10,
  retryWait: 1_000,
};

/** Bytes of chunk payload each lane may have in flight (at least two chunks)... */
const LANE_WINDOW = 2 * 1024 * 1024;
/** ...and all lanes together, unless two chunks are more: the client's memory stays bounded. */
const MAX_WINDOW = 32 * 1024 * 1024;

/**
 * In-flight payload for the whole sync: enough to fill every lane, bounded for memory. It counts
 * file bytes: compressed, they take a fraction of that on the link, so a compressing sync may
 * keep more of them in flight (`compressed`: twice as many, within twice the bound; four times
 * was 13 % faster on compressible data but held 190 MiB of random data in flight).
 */
function windowSize(connections: number, chunk: number, compressed: boolean): number {
  const factor = compressed ? 2 : 1;
  return Math.max(2 * chunk, Math.min(factor * MAX_WINDOW, factor * connections * Math.max(LANE_WINDOW, 2 * chunk)));
}

/**
 * Synchronises the local directory and the remote one in the given direction and resolves with
 * the summary. Failures of single files are reported as events and counted; a failure of the
 * connection or session rejects with a ParecoError.
 */
export async function sync(options: SyncOptions): Promise<SyncSummary> {
  const started = performance.now();
  const emit = options.onEvent ?? (() => {});
  const chunk = options.chunk ?? SYNC_DEFAULTS.chunk;
  const block = blockSize(chunk, options.block);
  const connections = options.connections ?? SYNC_DEFAULTS.connections;
  const hash = options.hash ?? SYNC_DEFAULTS.hash;
  const include = options.include ?? [];
  const exclude = options.exclude ?? [];
  const dryRun = options.dryRun ?? false;
  const filter = await PathFilter.create(include, exclude);
  const digest = await loadDigest(hash);
  if (options.compress !== undefined && !compressionAvailable()) {
    throw new ParecoError(ErrorCode.USAGE, '--compress: zstd (the zstd-napi package) cannot be loaded in this installation');
  }
  const cancellation = new Cancellation(options.signal);
  const wire = { sent: 0, received: 0 };
  let local: LocalTree | undefined;
  let embedded: RunningServer | undefined;
  const cache = openCache(options, emit);
  try {
    local = await localTree(options, { chunk, block, hash, digest, filter, cancellation, cache });
    const { url, token, reach } = await reachServer(options, cache, (server) => (embedded = server));
    const timeout = options.timeout ?? SYNC_DEFAULTS.timeout;
    const retries = options.retries ?? SYNC_DEFAULTS.retries;
    const retryWait = options.retryWait ?? SYNC_DEFAULTS.retryWait;
    const summary = await runSessions({
      url,
      connections,
      open: {
        mode: options.mode,
        dir: options.remoteDir,
        chunk,
        block,
        hash,
        include,
        exclude,
        inplace: options.inplace ?? false,
        fsync: options.fsync ?? false,
        dry: dryRun,
        ...(options.compress === undefined ? {} : { zstd: options.compress }),
      },
      pool: {
        wire,
        ...(token === undefined ? {} : { token }),
        connectTimeout: options.connectTimeout ?? SYNC_DEFAULTS.connectTimeout,
        ...reach,
        heartbeat: { interval: Math.min(options.heartbeat ?? DEFAULT_HEARTBEAT.interval, timeout / 2), timeout },
        limits: { maxData: chunk },
        retries,
        retryWait,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onEvent: emit,
      },
      local,
      chunk,
      range: new RangeDigest(digest, block),
      filter,
      skipDigest: options.skipDigest ?? false,
      deletion: { enabled: options.deleteUnexpected ?? false, ...(options.maxDelete === undefined ? {} : { max: options.maxDelete }) },
      window: windowSize(connections, chunk, options.compress !== undefined),
      rate: options.bwlimit === undefined ? undefined : new RateLimit(options.bwlimit),
      reportUnchanged: options.reportUnchanged ?? false,
      retries,
      retryWait,
      cancellation,
      emit,
    });
    if (local !== undefined) summary.cached.local = { ...local.cacheHits };
    summary.wire = { ...summary.wire, ...wire };
    summary.durationMs = Math.round(performance.now() - started);
    summary.ok = summary.filesFailed === 0 && summary.filesChanged === 0 && !summary.aborted;
    return summary;
  } finally {
    cancellation.dispose();
    await local?.close();
    await (embedded as RunningServer | undefined)?.close();
    cache?.close();
  }
}

/** The digest cache, when digests are compared and a directory is given; a warning if it cannot be used. */
function openCache(options: SyncOptions, emit: (event: SyncEvent) => void): DigestCache | undefined {
  if (options.cacheDir === undefined || options.skipDigest === true) return undefined;
  return DigestCache.open(options.cacheDir, (message) => emit({ type: 'warning', code: ErrorCode.IO, message: `digest cache: ${message}` }));
}

/** The local side, or none for a dry-run download into a directory that does not exist yet (it compares against nothing). */
async function localTree(
  options: SyncOptions,
  settings: {
    chunk: number;
    block: number;
    hash: HashName;
    digest: Awaited<ReturnType<typeof loadDigest>>;
    filter: PathFilter;
    cancellation: Cancellation;
    cache: DigestCache | undefined;
  },
): Promise<LocalTree | undefined> {
  const upload = options.mode === 'upload';
  const dryRun = options.dryRun ?? false;
  const path = resolve(options.localDir);
  if (dryRun && !upload && !(await exists(path))) return undefined;
  return new LocalTree({
    root: await prepareTreeRoot(path, `local directory ${options.localDir}`, { create: !upload && !dryRun }),
    role: upload ? 'source' : 'destination',
    chunk: settings.chunk,
    block: settings.block,
    digest: settings.digest,
    hash: settings.hash,
    // Closing waits (at most a fraction of a second) until the files written last are confirmed
    // in the cache, with an embedded server's: the next sync reads none of them.
    ...(settings.cache === undefined ? {} : { cache: settings.cache, patientClose: true }),
    filter: settings.filter,
    inplace: options.inplace ?? false,
    fsync: options.fsync ?? false,
    dryRun,
    cancelled: () => settings.cancellation.cancelled,
  });
}

/**
 * Where the lanes go: the given server (every lane of this sync with the same route key, so that
 * a load balancer in front of several servers sends them all to the process holding the
 * session), or an embedded server on loopback, started here with a random token.
 */
async function reachServer(
  options: SyncOptions,
  cache: DigestCache | undefined,
  started: (server: RunningServer) => void,
): Promise<{ url: string; token: string | undefined; reach: Pick<PoolOptions, 'proxy' | 'tls'> }> {
  if (options.server === undefined) {
    const token = randomBytes(16).toString('hex');
    // Loaded only here: a sync with --server does not pay for the server's modules at start-up.
    const { startServer } = await import('../server/server.js');
    const server = await startServer({ host: '127.0.0.1', port: 0, token, ...(cache === undefined ? {} : { cache }) });
    started(server);
    return { url: server.url, token, reach: {} };
  }
  const { url, ...reach } = serverConnection(options.server, options);
  return { url: withRoute(url, randomBytes(12).toString('base64url')), token: options.token, reach };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The block size to use: the one asked for, or the default capped at the chunk size. It must
 * divide the chunk so that chunk and block boundaries line up.
 */
function blockSize(chunk: number, wanted: number | undefined): number {
  const block = wanted ?? Math.min(SYNC_DEFAULTS.block, chunk);
  const problem = blockSizeProblem(chunk, block);
  if (problem !== undefined) throw new ParecoError(ErrorCode.USAGE, `--block: ${problem} (--chunk)`);
  return block;
}
