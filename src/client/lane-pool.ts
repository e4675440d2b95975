import {
  ErrorCode,
  isLaneLoss,
  isPermanentRefusal,
  isSessionGone,
  ParecoError,
  PROTOCOL_VERSION,
  type ClosedResponse,
  PayloadCompressor,
  type OpenRequest,
  type Response,
} from '../../protocol/index.js';
import { randomBytes } from 'node:crypto';
import { Cancellation } from '../transport/cancellation.js';
import { ClientLane, type ConnectOptions, type RequestBody } from '../transport/client-lane.js';
import { retryDelay } from './retry-delay.js';

/** What a lane weighs for balancing besides its payload bytes: small requests cost a little. */
const REQUEST_WEIGHT = 4096;
/** Listing batches asked together with the open. */
const PREFETCHED_BATCHES = 4;
/** Lanes that drop within this time of each other are reported in one line (a server shutting down drops them all). */
const LOSS_REPORT_DELAY = 250;

export interface SessionInfo {
  id: string;
  key: string;
  /** Version of the pareco server. */
  server: string;
  /** Payloads are compressed both ways (asked for, and the server agreed). */
  compressed: boolean;
}

/** What the pool tells the sync about its connections, for the user. */
export type PoolEvent =
  /** A connection attempt failed and another follows after `waitMs`. */
  | { type: 'retry'; phase: 'connect' | 'reconnect'; retry: number; retries: number; waitMs: number; code: ErrorCode; message: string }
  /** `lanes` of `total` connections dropped (reported once for lanes that drop together). */
  | { type: 'lost'; lanes: number; total: number; code: ErrorCode; message: string }
  /** A connection is up again after every one had dropped. */
  | { type: 'reconnected' };

export interface PoolOptions extends Omit<ConnectOptions, 'cancellation'> {
  /** Consecutive failed reconnection attempts after which a lane is given up. */
  retries: number;
  /** First wait before reconnecting (doubles each attempt, with jitter, up to 30 s). */
  retryWait: number;
  /** The user's interrupt: connection attempts and waits end at once. */
  signal?: AbortSignal;
  onEvent?: (event: PoolEvent) => void;
}

interface Slot {
  lane: ClientLane | undefined;
  gaveUp: boolean;
}

/**
 * The N lanes of one session. The first lane opens the session, the others join it; every
 * request goes to the lane with the least outstanding work, so all connections stay busy.
 * A lane that drops is reconnected and rejoins the session (backoff with jitter) while its
 * requests are retried on the lanes left; every request of the protocol is idempotent.
 */
export class LanePool {
  readonly session: SessionInfo;
  readonly #url: string;
  readonly #options: PoolOptions;
  readonly #slots: Slot[];
  /** Compresses request payloads when the session has compression on (one per pool: lanes take turns on the thread). */
  readonly #compressor: PayloadCompressor | undefined;
  /** Ends every wait and connection attempt of the pool, on close or on the user's interrupt. */
  readonly #cancellation: Cancellation;
  #waiters: (() => void)[] = [];
  #fatal: ParecoError | undefined;
  #closing = false;
  #closed: Promise<ClosedResponse | undefined> | undefined;
  /** Listing batches asked together with the open, by seq, until taken (see prefetched). */
  #listing = new Map<number, Promise<Extract<Response, { t: 'entries' }>>>();
  #listDigests = false;
  /** Lane losses not reported yet, and the first one's error. */
  #unreported: { lanes: number; error: ParecoError } | undefined;
  /** While every lane is down: the highest reconnection attempt already reported. */
  #reportedRetry = 0;
  /** Requests sent again after their lane dropped. */
  retriedRequests = 0;

  private constructor(url: string, options: PoolOptions, cancellation: Cancellation, session: SessionInfo, count: number, first: ClientLane, compressor: PayloadCompressor | undefined) {
    this.#url = url;
    this.#options = options;
    this.#cancellation = cancellation;
    this.session = session;
    this.#slots = Array.from({ length: count }, () => ({ lane: undefined, gaveUp: false }));
    this.#compressor = compressor;
    // Requests waiting for a lane give up when the user interrupts.
    cancellation.onCancel(() => this.#wake());
    this.#attach(this.#slots[0]!, first, true);
  }

  /**
   * Opens the session on one lane and joins the others. The open is tried again, with a line
   * for the user each time, when the connection fails or breaks during it (not when nothing
   * listens: a wrong address should not wait through retries); a lane that fails to join
   * starts out reconnecting instead of failing the sync.
   */
  static async open(
    url: string,
    count: number,
    open: Omit<OpenRequest, 'id' | 't' | 'v'>,
    options: PoolOptions,
    prefetch?: { digests: boolean },
  ): Promise<LanePool> {
    const cancellation = new Cancellation(options.signal);
    const connect = { ...options, cancellation };
    // The session's id and key are ours: every lane sends the same open at once, and whichever
    // arrives first opens the session that the others join (no join round trip after the open).
    const opening = { ...open, session: randomBytes(12).toString('base64url'), key: randomBytes(24).toString('base64url') };
    try {
      const { first, opened, early, listing } = await openFirst(url, count, opening, connect, prefetch);
      // Compression as asked, if the server agreed (it may not have zstd).
      const compressor = opened.zstd && open.zstd !== undefined ? new PayloadCompressor(open.zstd) : undefined;
      const session = { id: opened.session, key: opened.key, server: opened.server, compressed: compressor !== undefined };
      const pool = new LanePool(url, options, cancellation, session, count, first, compressor);
      pool.#listing = listing;
      pool.#listDigests = prefetch?.digests ?? false;
      // The other lanes join in the background: nothing waits for them.
      early.forEach((connecting, i) => void pool.#adopt(pool.#slots[i + 1]!, connecting));
      return pool;
    } catch (error) {
      cancellation.dispose();
      throw error;
    }
  }

  /**
   * The answer to listing batch `seq` when it was asked together with the open (once; undefined
   * otherwise). If its lane dropped, it is asked again on another.
   */
  prefetched(seq: number): Promise<Extract<Response, { t: 'entries' }>> | undefined {
    const answer = this.#listing.get(seq);
    if (answer === undefined) return undefined;
    this.#listing.delete(seq);
    return answer.catch((error: unknown) => {
      if (this.#closing || !(error instanceof ParecoError) || !isLaneLoss(error.code)) throw error;
      this.retriedRequests++;
      return this.request({ t: 'list', seq, digests: this.#listDigests }, 'entries');
    });
  }

  /** Puts a lane that connected and sent the open with the first in its slot (or joins it anew). */
  async #adopt(slot: Slot, connecting: Promise<ClientLane>): Promise<void> {
    const connect = { ...this.#options, cancellation: this.#cancellation };
    try {
      const lane = await connecting.then(
        (ready) => (ready.closed ? joinLane(this.#url, this.session, connect) : ready),
        () => joinLane(this.#url, this.session, connect),
      );
      if (this.#closing) lane.close();
      else this.#attach(slot, lane, true);
    } catch (error) {
      if (this.#closing || (error instanceof ParecoError && error.code === ErrorCode.ABORTED)) return;
      if (cannotRejoin(error)) {
        this.#fatal ??= error as ParecoError;
        this.#wake();
        return;
      }
      void this.#reconnect(slot);
    }
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Lanes connected right now. */
  get connected(): number {
    return this.#slots.filter((s) => s.lane !== undefined && !s.lane.closed).length;
  }

  /** Registered waits and connection attempts (a test checks they do not pile up). */
  get pendingCancellations(): number {
    return this.#cancellation.pending;
  }

  /**
   * Sends a request on the least busy lane. If that lane drops before answering, the request is
   * sent again on another (or on a reconnected) lane; errors of the request itself are thrown.
   */
  async request<T extends Response['t']>(body: RequestBody, expect: T): Promise<Extract<Response, { t: T }>> {
    for (;;) {
      const lane = await this.#pick();
      try {
        return await lane.request(body, expect);
      } catch (error) {
        if (!lane.closed || this.#closing || !(error instanceof ParecoError) || !isLaneLoss(error.code)) throw error;
        this.retriedRequests++;
      }
    }
  }

  /**
   * Ends the session on the server (waiting at most `patience` ms for its answer: one round
   * trip, so that the server frees the session now rather than when it expires) and closes
   * every lane. Resolves with the server's answer (what its digest cache saved), or undefined
   * when none came. Calling it again waits for the first call.
   */
  close(patience = 2000): Promise<ClosedResponse | undefined> {
    this.#closed ??= this.#close(patience);
    return this.#closed;
  }

  async #close(patience: number): Promise<ClosedResponse | undefined> {
    const lane = this.#slots.map((s) => s.lane).find((l) => l !== undefined && !l.closed);
    let answer: ClosedResponse | undefined;
    if (lane !== undefined && this.#fatal === undefined) {
      const closed = lane.request({ t: 'close' }, 'closed').catch(() => undefined);
      answer = await Promise.race([closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), patience).unref())]);
    }
    this.#closing = true;
    this.#cancellation.cancel();
    this.#cancellation.dispose();
    for (const slot of this.#slots) slot.lane?.close();
    this.#wake();
    return answer;
  }

  async #pick(): Promise<ClientLane> {
    for (;;) {
      if (this.#fatal !== undefined) throw this.#fatal;
      if (this.#closing) throw new ParecoError(ErrorCode.ABORTED, 'the sync is closing');
      if (this.#cancellation.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
      let best: ClientLane | undefined;
      let bestLoad = Infinity;
      for (const { lane } of this.#slots) {
        if (lane === undefined || lane.closed) continue;
        const load = lane.inFlightBytes + lane.pendingCount * REQUEST_WEIGHT;
        if (load < bestLoad) {
          best = lane;
          bestLoad = load;
        }
      }
      if (best !== undefined) return best;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Puts a connected lane in its slot; `initial` for the lanes the pool starts with. */
  #attach(slot: Slot, lane: ClientLane, initial = false): void {
    const wasDown = !initial && this.connected === 0;
    slot.lane = lane;
    lane.compressor = this.#compressor;
    lane.onClose((error) => {
      if (this.#closing || error.code === ErrorCode.ABORTED) return;
      this.#reportLoss(error);
      void this.#reconnect(slot);
    });
    if (wasDown) this.#options.onEvent?.({ type: 'reconnected' });
    this.#reportedRetry = 0;
    this.#wake();
  }

  /** Collects lanes that drop together into one report. */
  #reportLoss(error: ParecoError): void {
    if (this.#unreported !== undefined) {
      this.#unreported.lanes++;
      return;
    }
    this.#unreported = { lanes: 1, error };
    setTimeout(() => this.#flushLossReport(), LOSS_REPORT_DELAY).unref();
  }

  /** Reports the lanes lost since the last report (before anything that follows from their loss). */
  #flushLossReport(): void {
    if (this.#unreported === undefined) return;
    const { lanes, error } = this.#unreported;
    this.#unreported = undefined;
    if (this.#closing || this.#fatal !== undefined) return;
    this.#options.onEvent?.({ type: 'lost', lanes, total: this.#slots.length, code: error.code, message: error.message });
  }

  async #reconnect(slot: Slot): Promise<void> {
    slot.lane = undefined;
    const { retries, retryWait } = this.#options;
    const connect = { ...this.#options, cancellation: this.#cancellation };
    let last: ParecoError | undefined;
    for (let attempt = 0; attempt < retries; attempt++) {
      const wait = retryDelay(retryWait, attempt);
      // While no lane is up the user waits on this: say why, once per attempt number.
      if (last !== undefined && this.connected === 0 && attempt > this.#reportedRetry) {
        this.#reportedRetry = attempt;
        this.#flushLossReport();
        this.#options.onEvent?.({ type: 'retry', phase: 'reconnect', retry: attempt + 1, retries, waitMs: wait, code: last.code, message: last.message });
      }
      if (!(await this.#cancellation.sleep(wait)) || this.#closing || this.#fatal !== undefined) return;
      try {
        this.#attach(slot, await joinLane(this.#url, this.session, connect));
        return;
      } catch (error) {
        const failure = error instanceof ParecoError ? error : new ParecoError(ErrorCode.CONNECTION, String(error));
        if (this.#closing || failure.code === ErrorCode.ABORTED) return;
        if (cannotRejoin(failure)) {
          this.#fatal ??= failure;
          this.#wake();
          return;
        }
        last = failure;
      }
    }
    slot.gaveUp = true;
    if (this.#slots.every((s) => s.gaveUp)) {
      const why = last === undefined ? '' : ` (${last.message})`;
      this.#fatal ??= new ParecoError(ErrorCode.CONNECTION, `lost every connection to the server and could not reconnect after ${retries} attempts${why}`);
    }
    this.#wake();
  }
}

/** A rejoin that failed this way will fail again: the sync needs a new session, or must stop. */
function cannotRejoin(error: unknown): boolean {
  return error instanceof ParecoError && (isSessionGone(error.code) || isPermanentRefusal(error.code));
}

interface Connect extends Omit<PoolOptions, 'signal'> {
  cancellation: Cancellation;
}

/**
 * Connects the first lane and opens the session on it, retrying while the connection is the
 * problem. Once the first lane is in (so the token is good), the others connect while it opens
 * the session: on a slow link that hides their TCP, TLS and upgrade round trips behind the open.
 */
async function openFirst(
  url: string,
  count: number,
  open: Omit<OpenRequest, 'id' | 't' | 'v'>,
  options: Connect,
  prefetch: { digests: boolean } | undefined,
): Promise<{ first: ClientLane; opened: Extract<Response, { t: 'opened' }>; early: Promise<ClientLane>[]; listing: Map<number, Promise<Extract<Response, { t: 'entries' }>>> }> {
  // The other lanes connect and send the same open at once (see LanePool.open).
  const early = Array.from({ length: count - 1 }, () => ClientLane.connect(url, options).then((lane) => opened(lane, open)));
  for (const connecting of early) connecting.catch(() => {});
  for (let attempt = 0; ; attempt++) {
    let first: ClientLane | undefined;
    try {
      first = await ClientLane.connect(url, options);
      const opening = first.request({ t: 'open', v: PROTOCOL_VERSION, ...open }, 'opened');
      // The listing starts in the same exchange: its first batches ride right behind the open.
      const listing = new Map<number, Promise<Extract<Response, { t: 'entries' }>>>();
      for (let seq = 0; prefetch !== undefined && seq < PREFETCHED_BATCHES; seq++) {
        const answer = first.request({ t: 'list', seq, digests: prefetch.digests }, 'entries');
        answer.catch(() => {}); // taken by prefetched(), or dropped with the pool
        listing.set(seq, answer);
      }
      const opened = await opening;
      return { first, opened, early, listing };
    } catch (error) {
      first?.close();
      // A server draining for a restart (UNAVAILABLE) takes new sessions again soon, or a
      // balancer sends the next attempt to another one.
      const retriable = error instanceof ParecoError && ((isLaneLoss(error.code) && error.code !== ErrorCode.UNREACHABLE) || error.code === ErrorCode.UNAVAILABLE);
      const wait = retryDelay(options.retryWait, attempt);
      if (retriable && attempt < options.retries && !options.cancellation.cancelled) {
        options.onEvent?.({ type: 'retry', phase: 'connect', retry: attempt + 1, retries: options.retries, waitMs: wait, code: error.code, message: error.message });
        if (await options.cancellation.sleep(wait)) continue;
      }
      for (const connecting of early) void connecting.then((lane) => lane.close(), () => {});
      if (options.cancellation.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
      throw error;
    }
  }
}

/** A lane once the open it sent is answered (it opened or joined the session); closed if refused. */
async function opened(lane: ClientLane, open: Omit<OpenRequest, 'id' | 't' | 'v'>): Promise<ClientLane> {
  try {
    await lane.request({ t: 'open', v: PROTOCOL_VERSION, ...open }, 'opened');
    return lane;
  } catch (error) {
    lane.close();
    throw error;
  }
}

function joinLane(url: string, session: SessionInfo, options: ConnectOptions): Promise<ClientLane> {
  return ClientLane.connect(url, options).then((lane) => join(lane, session));
}

/** Joins a connected lane to the session; closes it if the server says no. */
async function join(lane: ClientLane, session: SessionInfo): Promise<ClientLane> {
  try {
    await lane.request({ t: 'join', v: PROTOCOL_VERSION, session: session.id, key: session.key }, 'ok');
    return lane;
  } catch (error) {
    lane.close();
    throw error;
  }
}
