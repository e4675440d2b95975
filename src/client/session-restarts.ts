import { ErrorCode, isLaneLoss, isSessionGone, ParecoError, toParecoError, type OpenRequest } from '../../protocol/index.js';
import type { RangeDigest } from '../digest/range-digest.js';
import type { PathFilter } from '../fs/filter.js';
import type { LocalTree } from '../fs/local-tree.js';
import type { Tree } from '../fs/tree.js';
import type { Cancellation } from '../transport/cancellation.js';
import { redact } from '../transport/client-lane.js';
import { ByteWindow } from './byte-window.js';
import { DryRunTree } from './dry-run-tree.js';
import { runEngine, type EngineListings } from './engine.js';
import { LanePool, type PoolOptions } from './lane-pool.js';
import type { RateLimit } from './rate-limit.js';
import { RemoteTree } from './remote-tree.js';
import { retryDelay } from './retry-delay.js';
import { emptySummary, type SyncEvent, type SyncSummary } from './sync-report.js';

/** After an interrupt, how long requests in flight may still finish before the lanes close... */
const INTERRUPT_GRACE = 1000;
/** ...and how long the server then has to confirm the session's end. */
const INTERRUPTED_CLOSE_PATIENCE = 500;
/** Block comparisons of differing chunks in flight: each costs a small request to both sides. */
const COMPARES_IN_FLIGHT = 256;

/** Everything a sync's sessions are made of, prepared by sync(). */
export interface SessionPlan {
  url: string;
  connections: number;
  open: Omit<OpenRequest, 'id' | 't' | 'v'>;
  pool: PoolOptions;
  /** The local tree: the source of an upload, the destination of a download (none: a dry-run download into nothing). */
  local: LocalTree | undefined;
  chunk: number;
  range: RangeDigest;
  filter: PathFilter;
  skipDigest: boolean;
  deletion: { enabled: boolean; max?: number };
  /** Payload bytes in flight over all lanes. */
  window: number;
  rate: RateLimit | undefined;
  reportUnchanged: boolean;
  retries: number;
  retryWait: number;
  cancellation: Cancellation;
  emit: (event: SyncEvent) => void;
}

/**
 * Runs the sync in a session, and in a new one whenever the session is gone (the server
 * restarted, or the session expired during a long outage): the new run lists and compares
 * again, so everything already written, partial files too, is reused. An interrupt lets
 * requests in flight finish for a moment, then closes the lanes, so that the summary so far
 * comes within 2 s.
 */
export async function runSessions(plan: SessionPlan): Promise<SyncSummary> {
  const { cancellation, emit } = plan;
  const upload = plan.open.mode === 'upload';
  const remoteDigests = !plan.skipDigest;
  for (let restarts = 0; ; restarts++) {
    let pool: LanePool | undefined;
    const summary = emptySummary();
    summary.sessionRestarts = restarts;
    summary.dryRun = plan.open.dry;
    const closeSoon = cancellation.onCancel(() => setTimeout(() => void pool?.close(INTERRUPTED_CLOSE_PATIENCE), INTERRUPT_GRACE).unref());
    try {
      emit({ type: 'connecting', server: redact(plan.url) });
      pool = await openPool(plan, remoteDigests);
      if (pool !== undefined) {
        emit({ type: 'connected', session: pool.session.id, server: pool.session.server, lanes: pool.size });
        summary.wire.compressed = pool.session.compressed;
        if (plan.open.zstd !== undefined && !pool.session.compressed) {
          emit({ type: 'warning', code: ErrorCode.USAGE, message: '--compress: the server cannot compress (no zstd there); sending uncompressed' });
        }
      }
      const remote = pool === undefined ? undefined : new RemoteTree(pool);
      const [source, realDest]: [Tree, Tree | undefined] = upload ? [plan.local!, remote] : [remote!, plan.local];
      const dest = plan.open.dry ? new DryRunTree(realDest) : realDest!;
      await runEngine(
        {
          source,
          dest,
          chunk: plan.chunk,
          range: plan.range,
          skipDigest: plan.skipDigest,
          inplace: plan.open.inplace,
          dryRun: plan.open.dry,
          filter: plan.filter,
          deletion: plan.deletion,
          window: new ByteWindow(plan.window),
          compares: new ByteWindow(COMPARES_IN_FLIGHT),
          ...(plan.rate === undefined ? {} : { rate: plan.rate }),
          summary,
          emit,
          reportUnchanged: plan.reportUnchanged,
          cancellation,
          unreported: { files: 0, bytes: 0 },
        },
        listingsFor(upload, remoteDigests),
      );
      summary.retriedRequests = pool?.retriedRequests ?? 0;
    } catch (error) {
      if (cancellation.cancelled) {
        summary.aborted = true;
      } else {
        const failure = toParecoError(error);
        const serverAway = restarts > 0 && isLaneLoss(failure.code);
        if (!(isSessionGone(failure.code) || serverAway) || restarts >= plan.retries) throw failure;
        emit({ type: 'warning', code: failure.code, message: `${failure.message}; starting a new session` });
        if (await cancellation.sleep(retryDelay(plan.retryWait, restarts))) continue;
        summary.aborted = true;
      }
    } finally {
      closeSoon();
      const closed = await pool?.close(cancellation.cancelled ? INTERRUPTED_CLOSE_PATIENCE : undefined);
      if (closed !== undefined) summary.cached.remote = { files: closed.cachedFiles, bytes: closed.cachedBytes };
    }
    return summary;
  }
}

/**
 * Opens the lanes, the first batches of the remote listing riding with the open. In a dry-run
 * upload to a remote directory that does not exist yet there is nothing to compare against,
 * and no session is needed (undefined).
 */
async function openPool(plan: SessionPlan, remoteDigests: boolean): Promise<LanePool | undefined> {
  try {
    return await LanePool.open(plan.url, plan.connections, plan.open, plan.pool, { digests: remoteDigests });
  } catch (error) {
    if (plan.open.dry && plan.open.mode === 'upload' && error instanceof ParecoError && error.code === ErrorCode.NOT_FOUND) return undefined;
    throw error;
  }
}

/**
 * What each side lists with its entries when digests are compared: the remote side small files'
 * digests (no request per file), the local side those its cache holds (a file whose digests
 * match on both sides is then settled from the listings alone; the others are hashed when the
 * comparison needs them, never read for nothing).
 */
function listingsFor(upload: boolean, digests: boolean): EngineListings {
  if (!digests) return { source: {}, dest: {} };
  return upload ? { source: { digests: 'cached' }, dest: { digests: true } } : { source: { digests: true }, dest: { digests: 'cached' } };
}
