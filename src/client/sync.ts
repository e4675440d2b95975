import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { blockSizeProblem, ErrorCode, isFatal, isLaneLoss, isSessionGone, ParecoError, toParecoError, type Entry, type HashName, type Mode } from '../../protocol/index.js';
import { loadDigest } from '../digest/registry.js';
import { RangeDigest } from '../digest/range-digest.js';
import { PathFilter } from '../fs/filter.js';
import { LocalTree } from '../fs/local-tree.js';
import { prepareTreeRoot } from '../fs/tree-root.js';
import type { Tree } from '../fs/tree.js';
import type { RunningServer } from '../server/server.js';
import { Cancellation } from '../transport/cancellation.js';
import { redact } from '../transport/client-lane.js';
import { DEFAULT_HEARTBEAT } from '../transport/heartbeat.js';
import type { ProxySetting } from '../transport/proxy-for.js';
import { forEachLimited } from './bounded-parallel.js';
import { ByteWindow } from './byte-window.js';
import { DryRunTree } from './dry-run-tree.js';
import { RateLimit } from './rate-limit.js';
import { sameMtime, skippedByMetadata, transferFile, type TransferContext } from './file-transfer.js';
import { LanePool, type PoolOptions } from './lane-pool.js';
import { RemoteTree } from './remote-tree.js';
import { emptySummary, type SyncEvent, type SyncSummary } from './sync-report.js';
import { retryDelay } from './retry-delay.js';
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
  /** Aborting stops the sync: in-flight requests finish, nothing new starts, the summary says so. */
  signal?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
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

/** After an interrupt, how long requests in flight may still finish before the lanes close... */
const INTERRUPT_GRACE = 1000;
/** ...and how long the server then has to confirm the session's end. */
const INTERRUPTED_CLOSE_PATIENCE = 500;

/** Bytes of chunk payload each lane may have in flight (at least two chunks)... */
const LANE_WINDOW = 2 * 1024 * 1024;
/** ...and all lanes together, unless two chunks are more: the client's memory stays bounded. */
const MAX_WINDOW = 32 * 1024 * 1024;

/**
 * Files of at most one chunk (and symlinks) brought up to date at once. Their data is bounded by
 * the byte window; the count keeps open partial files well below the usual 1,024 descriptors.
 */
const SMALL_FILES_IN_FLIGHT = 256;

/** Block comparisons of differing chunks in flight: each costs a small request to both sides. */
const COMPARES_IN_FLIGHT = 256;

/** In-flight payload for the whole sync: enough to fill every lane, bounded for memory. */
function windowSize(connections: number, chunk: number): number {
  return Math.max(2 * chunk, Math.min(MAX_WINDOW, connections * Math.max(LANE_WINDOW, 2 * chunk)));
}

const depth = (path: string) => path.split('/').length;
const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

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
  const filter = await PathFilter.create(include, exclude);
  const upload = options.mode === 'upload';
  const dryRun = options.dryRun ?? false;

  const signal = options.signal;
  const cancellation = new Cancellation(signal);
  // A dry-run download into a directory that does not exist yet compares against nothing.
  const localPath = resolve(options.localDir);
  const local =
    dryRun && !upload && !(await exists(localPath))
      ? undefined
      : new LocalTree({
          root: await prepareTreeRoot(localPath, `local directory ${options.localDir}`, { create: !upload && !dryRun }),
          role: upload ? 'source' : 'destination',
          chunk,
          block,
          digest: await loadDigest(hash),
          filter,
          inplace: options.inplace ?? false,
          fsync: options.fsync ?? false,
          dryRun,
          cancelled: () => cancellation.cancelled,
        });
  const rate = options.bwlimit === undefined ? undefined : new RateLimit(options.bwlimit);

  let embedded: RunningServer | undefined;
  const retries = options.retries ?? SYNC_DEFAULTS.retries;
  const retryWait = options.retryWait ?? SYNC_DEFAULTS.retryWait;
  try {
    let url: string;
    let token = options.token;
    let reach: Pick<PoolOptions, 'proxy' | 'tls'> = {};
    if (options.server === undefined) {
      token = randomBytes(16).toString('hex');
      // Loaded only here: a sync with --server does not pay for the server's modules at start-up.
      const { startServer } = await import('../server/server.js');
      embedded = await startServer({ host: '127.0.0.1', port: 0, token });
      url = embedded.url;
    } else {
      // Every lane of this sync carries the same route key, so that a load balancer in front
      // of several servers can send them all to the process that holds the session.
      const { url: laneUrl, ...how } = serverConnection(options.server, options);
      url = withRoute(laneUrl, randomBytes(12).toString('base64url'));
      reach = how;
    }
    const timeout = options.timeout ?? SYNC_DEFAULTS.timeout;
    const poolOptions: PoolOptions = {
      ...(token === undefined ? {} : { token }),
      connectTimeout: options.connectTimeout ?? SYNC_DEFAULTS.connectTimeout,
      ...reach,
      heartbeat: { interval: Math.min(options.heartbeat ?? DEFAULT_HEARTBEAT.interval, timeout / 2), timeout },
      limits: { maxData: chunk },
      retries,
      retryWait,
      ...(signal === undefined ? {} : { signal }),
      onEvent: emit,
    };
    const openRequest = {
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
    };

    // A session that is gone (the server restarted, or it expired during a long outage) is
    // replaced by a new one; the new run reuses every chunk already written, partial files too.
    for (let restarts = 0; ; restarts++) {
      let pool: LanePool | undefined;
      const summary = emptySummary();
      summary.sessionRestarts = restarts;
      // Interrupted, in-flight requests get a moment to finish; then the lanes close, which
      // ends whatever still waits on the server, so the user gets the summary within 2 s.
      const closeSoon = cancellation.onCancel(() => setTimeout(() => void pool?.close(INTERRUPTED_CLOSE_PATIENCE), INTERRUPT_GRACE).unref());
      try {
        emit({ type: 'connecting', server: redact(url) });
        pool = await openPool(url, connections, openRequest, poolOptions);
        if (pool !== undefined) emit({ type: 'connected', session: pool.session.id, server: pool.session.server, lanes: pool.size });
        const remote = pool === undefined ? undefined : new RemoteTree(pool);
        const [source, realDest] = upload ? [local!, remote] : [remote!, local];
        const dest = dryRun ? new DryRunTree(realDest) : realDest!;
        summary.dryRun = dryRun;
        await runSync(
          {
            source,
            dest,
            chunk,
            range: new RangeDigest(await loadDigest(hash), block),
            skipDigest: options.skipDigest ?? false,
            window: new ByteWindow(windowSize(connections, chunk)),
            compares: new ByteWindow(COMPARES_IN_FLIGHT),
            dryRun,
            ...(rate === undefined ? {} : { rate }),
            summary,
            emit,
            cancellation,
          },
          filter,
          { enabled: options.deleteUnexpected ?? false, ...(options.maxDelete === undefined ? {} : { max: options.maxDelete }) },
          connections,
        );
        summary.retriedRequests = pool?.retriedRequests ?? 0;
      } catch (error) {
        if (cancellation.cancelled) {
          summary.aborted = true;
        } else {
          const failure = toParecoError(error);
          const serverAway = restarts > 0 && isLaneLoss(failure.code);
          if ((isSessionGone(failure.code) || serverAway) && restarts < retries) {
            emit({ type: 'warning', code: failure.code, message: `${failure.message}; starting a new session` });
            if (await cancellation.sleep(retryDelay(retryWait, restarts))) continue;
            summary.aborted = true;
          } else {
            throw failure;
          }
        }
      } finally {
        closeSoon();
        await pool?.close(cancellation.cancelled ? INTERRUPTED_CLOSE_PATIENCE : undefined);
      }
      summary.durationMs = Math.round(performance.now() - started);
      summary.ok = summary.filesFailed === 0 && summary.filesChanged === 0 && !summary.aborted;
      return summary;
    }
  } finally {
    cancellation.dispose();
    await local?.close();
    await embedded?.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Opens the lanes. In a dry-run upload to a remote directory that does not exist yet there is
 * nothing to compare against, and no session is needed (undefined).
 */
async function openPool(url: string, connections: number, open: Parameters<typeof LanePool.open>[2], options: PoolOptions): Promise<LanePool | undefined> {
  try {
    return await LanePool.open(url, connections, open, options);
  } catch (error) {
    if (open.dry && open.mode === 'upload' && error instanceof ParecoError && error.code === ErrorCode.NOT_FOUND) return undefined;
    throw error;
  }
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


interface Manifest {
  entries: Map<string, Entry>;
  /** The root directory's own entry (its mode and mtime are synced too). */
  root: Entry | undefined;
  /** Paths with a partial file from an interrupted run (destination only). */
  partials: Set<string>;
  /** Entries that could not be read: each is a failure, never a silent skip. */
  unreadable: Entry[];
}

async function manifest(tree: Tree): Promise<Manifest> {
  const entries = new Map<string, Entry>();
  const partials = new Set<string>();
  const unreadable: Entry[] = [];
  let root: Entry | undefined;
  for await (const batch of tree.list()) {
    for (const entry of batch) {
      if (entry.path === '') root = entry;
      else if (entry.kind === 'x') unreadable.push(entry);
      else if (entry.kind === 'p') partials.add(entry.path);
      else {
        if (entry.partial) partials.add(entry.path);
        entries.set(entry.path, entry);
      }
    }
  }
  return { entries, root, partials, unreadable };
}

async function runSync(ctx: TransferContext, filter: PathFilter, deletion: { enabled: boolean; max?: number }, connections: number): Promise<void> {
  const { source, dest, summary, emit } = ctx;
  const [{ entries: src, root: srcRoot, unreadable: srcUnreadable }, { entries: dst, root: dstRoot, partials, unreadable: dstUnreadable }] =
    await Promise.all([manifest(source), manifest(dest)]);
  for (const entry of [...srcUnreadable, ...dstUnreadable]) {
    summary.filesFailed++;
    emit({ type: 'error', path: entry.path, code: ErrorCode.IO, message: entry.error ?? `${entry.path}: cannot be read` });
  }
  /** Directories whose contents changed: their mtime is restored at the end. */
  const touched = new Set<string>();
  const parallel = Math.max(8, connections * 4);

  /** Paths whose work failed in this run. */
  const failed = new Set<string>();
  /** Runs one entry's work; single-entry failures are counted, fatal ones stop the sync. */
  const guarded = async (path: string, work: () => Promise<void>) => {
    if (ctx.cancellation.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
    try {
      await work();
    } catch (error) {
      const failure = toParecoError(error, path);
      if (isFatal(failure.code)) throw failure;
      failed.add(path);
      if (failure.code === ErrorCode.SOURCE_CHANGED) {
        summary.filesChanged++;
        emit({ type: 'warning', path, code: failure.code, message: failure.message });
      } else {
        summary.filesFailed++;
        emit({ type: 'error', path, code: failure.code, message: failure.message });
      }
    }
  };
  /** Clears the way when the destination has another kind of entry at the path. */
  const replaceConflict = async (entry: Entry) => {
    const existing = dst.get(entry.path);
    if (existing === undefined || existing.kind === entry.kind) return;
    await dest.remove(entry.path, existing.kind === 'd');
    dst.delete(entry.path);
    if (existing.kind === 'd') for (const path of dst.keys()) if (path.startsWith(`${entry.path}/`)) dst.delete(path);
  };

  // 1. Directories, parents before children (one depth level at a time, in parallel).
  const dirs = [...src.values()].filter((e) => e.kind === 'd');
  for (const level of groupByDepth(dirs, 'ascending')) {
    await forEachLimited(level, parallel, (entry) =>
      guarded(entry.path, async () => {
        if (dst.get(entry.path)?.kind === 'd') return;
        await replaceConflict(entry);
        await dest.mkdir(entry.path);
        touched.add(parentOf(entry.path));
        emit({ type: 'mkdir', path: entry.path });
      }),
    );
  }

  // 2. Files and symlinks, many at a time; big files spread their chunks over all lanes.
  const leaves = [...src.values()].filter((e) => e.kind !== 'd');
  for (const entry of leaves) {
    if (entry.kind === 'f') {
      summary.filesTotal++;
      summary.bytesTotal += entry.size;
    }
  }
  emit({ type: 'plan', files: summary.filesTotal, bytes: summary.bytesTotal });
  const bringUpToDate = (entry: Entry) =>
    guarded(entry.path, async () => {
      const existing = dst.get(entry.path);
      if (entry.kind === 'o') {
        emit({ type: 'warning', path: entry.path, code: ErrorCode.SPECIAL_FILE, message: `${entry.path}: skipping special file (not a regular file, directory or symlink)` });
        return;
      }
      if (entry.kind === 'l') {
        if (existing?.kind === 'l' && existing.target === entry.target) {
          if (!sameMtime(existing.mtime, entry.mtime)) await dest.setMeta(entry.path, { mtime: entry.mtime, mode: entry.mode });
          return;
        }
        await replaceConflict(entry);
        await dest.symlink(entry.path, entry.target ?? '', entry.mtime);
        touched.add(parentOf(entry.path));
        emit({ type: 'symlink', path: entry.path, target: entry.target ?? '' });
        return;
      }
      await replaceConflict(entry);
      const before = summary.filesTransferred;
      try {
        await transferFile(ctx, entry, dst.get(entry.path), partials.has(entry.path));
      } finally {
        if (summary.filesTransferred !== before) touched.add(parentOf(entry.path));
      }
    });
  // Small files cost a request or two each and little data: on a slow link many must be under
  // way to fill it. Big files share the byte window chunk by chunk and need fewer at once.
  const small = (entry: Entry) => entry.kind !== 'f' || entry.size <= ctx.chunk;
  const work = leaves.filter((entry) => !skippedByMetadata(ctx, entry, dst.get(entry.path)));
  const settled = await Promise.allSettled([
    forEachLimited(work.filter(small), SMALL_FILES_IN_FLIGHT, bringUpToDate),
    forEachLimited(work.filter((entry) => !small(entry)), parallel, bringUpToDate),
  ]);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;

  // 3. Deletions, deepest first, only of entries the filters select, only if nothing failed.
  if (deletion.enabled) {
    const unexpected = [...dst.values()].filter((e) => !src.has(e.path) && filter.selected(e.path));
    if (summary.filesFailed > 0) {
      emit({ type: 'warning', code: ErrorCode.DELETE_SKIPPED, message: 'not deleting anything because some files failed' });
    } else if (deletion.max !== undefined && unexpected.length > deletion.max) {
      summary.deletionsRefused = unexpected.length;
      emit({
        type: 'warning',
        code: ErrorCode.DELETE_LIMIT,
        message: `not deleting anything: ${unexpected.length} entries would be deleted, more than --max-delete ${deletion.max}`,
      });
    } else {
      for (const level of groupByDepth(unexpected, 'descending')) {
        await forEachLimited(level, parallel, (entry) =>
          guarded(entry.path, async () => {
            try {
              await dest.remove(entry.path, false);
            } catch (error) {
              // It still holds entries the filters protect: it stays, and that is no failure.
              if (error instanceof ParecoError && error.code === ErrorCode.NOT_EMPTY) return;
              throw error;
            }
            if (entry.kind === 'd') summary.dirsDeleted++;
            else summary.filesDeleted++;
            touched.add(parentOf(entry.path));
            emit({ type: 'delete', path: entry.path, kind: entry.kind === 'd' ? 'dir' : entry.kind === 'l' ? 'symlink' : 'file' });
          }),
        );
      }
    }
  }

  // 3b. Partial files left by interrupted runs: one whose file is now in place is useless, one
  // whose source is gone is stale (removed with --delete, reported otherwise).
  const failedBefore = summary.filesFailed;
  await forEachLimited(partials, parallel, (path) =>
    guarded(path, async () => {
      const stale = src.get(path)?.kind !== 'f';
      if (!stale) return failed.has(path) ? undefined : dest.removePartial(path); // kept for the next run to resume
      if (deletion.enabled && failedBefore === 0) {
        await dest.removePartial(path);
        emit({ type: 'delete', path, kind: 'partial' });
      } else {
        emit({ type: 'warning', path, code: ErrorCode.STALE_PARTIAL, message: `${path}: the partial file of an interrupted transfer is kept, though its source is gone (--delete-unexpected removes it)` });
      }
    }),
  );

  // 4. Directory metadata last, deepest first, so that nothing changes a directory afterwards.
  for (const level of groupByDepth(dirs, 'descending')) {
    await forEachLimited(level, parallel, (entry) =>
      guarded(entry.path, async () => {
        const before = dst.get(entry.path);
        const differs = before?.kind !== 'd' || before.mode !== entry.mode || !sameMtime(before.mtime, entry.mtime);
        if (differs || touched.has(entry.path)) await dest.setMeta(entry.path, { mtime: entry.mtime, mode: entry.mode });
      }),
    );
  }
  // The root last of all, like rsync with a trailing slash.
  if (srcRoot !== undefined) {
    await guarded('', async () => {
      const differs = dstRoot === undefined || dstRoot.mode !== srcRoot.mode || !sameMtime(dstRoot.mtime, srcRoot.mtime);
      if (differs || touched.has('')) await dest.setMeta('', { mtime: srcRoot.mtime, mode: srcRoot.mode });
    });
  }
}

function groupByDepth(entries: Entry[], order: 'ascending' | 'descending'): Entry[][] {
  const levels = new Map<number, Entry[]>();
  for (const entry of entries) {
    const d = depth(entry.path);
    let level = levels.get(d);
    if (level === undefined) levels.set(d, (level = []));
    level.push(entry);
  }
  const keys = [...levels.keys()].sort((a, b) => (order === 'ascending' ? a - b : b - a));
  return keys.map((k) => levels.get(k)!);
}
