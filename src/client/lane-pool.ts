import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode,
  ParecoError,
  PROTOCOL_VERSION,
  type OpenRequest,
  type Response,
} from '../../protocol/index.js';
import { ClientLane, type ConnectOptions, type RequestBody } from '../transport/client-lane.js';

/** What a lane weighs for balancing besides its payload bytes: small requests cost a little. */
const REQUEST_WEIGHT = 4096;
/** Longest wait between two reconnection attempts of a lane. */
const MAX_BACKOFF = 30_000;

export interface SessionInfo {
  id: string;
  key: string;
  /** Version of the pareco server. */
  server: string;
}

export interface PoolOptions extends ConnectOptions {
  /** Consecutive failed reconnection attempts after which a lane is given up. */
  retries: number;
  /** First wait before reconnecting (doubles each attempt, with jitter, up to 30 s). */
  retryWait: number;
  signal?: AbortSignal;
  /** Told about each lane lost and regained (for logs). */
  onLaneEvent?: (event: { type: 'lane-lost' | 'lane-back'; reason?: string }) => void;
}

/** Errors after which the session cannot be rejoined: the sync must start a new one. */
const SESSION_GONE = new Set<string>([ErrorCode.SESSION_EXPIRED, ErrorCode.SESSION_NOT_FOUND, ErrorCode.AUTH, ErrorCode.VERSION]);

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
  #waiters: (() => void)[] = [];
  #fatal: ParecoError | undefined;
  #closing = false;
  /** Cancels reconnection waits when the pool closes (they keep the process alive till then). */
  readonly #stop = new AbortController();
  /** Requests sent again after their lane dropped. */
  retriedRequests = 0;

  private constructor(url: string, options: PoolOptions, session: SessionInfo, lanes: (ClientLane | undefined)[]) {
    this.#url = url;
    this.#options = options;
    this.session = session;
    this.#slots = lanes.map(() => ({ lane: undefined, gaveUp: false }));
    lanes.forEach((lane, i) => {
      if (lane === undefined) void this.#reconnect(this.#slots[i]!);
      else this.#attach(this.#slots[i]!, lane);
    });
  }

  /**
   * Opens the session on one lane and joins the others. The open is tried again when the
   * connection breaks during it (not when nothing listens); a lane that fails to join starts
   * out reconnecting instead of failing the sync.
   */
  static async open(url: string, count: number, open: Omit<OpenRequest, 'id' | 't' | 'v'>, options: PoolOptions): Promise<LanePool> {
    // Once the first lane is in (so the token is good), the others connect while it opens the
    // session: on a slow link that hides their TCP, TLS and upgrade round trips behind the open.
    // One that fails to connect early tries again below.
    let early: Promise<ClientLane>[] = [];
    let first: ClientLane | undefined;
    let opened: Extract<Response, { t: 'opened' }> | undefined;
    for (let attempt = 0; opened === undefined; attempt++) {
      try {
        first = await ClientLane.connect(url, options);
        if (early.length === 0) {
          early = Array.from({ length: count - 1 }, () => ClientLane.connect(url, options));
          for (const connecting of early) connecting.catch(() => {});
        }
        opened = await first.request({ t: 'open', v: PROTOCOL_VERSION, ...open }, 'opened');
      } catch (error) {
        first?.close();
        const retry = error instanceof ParecoError && isLaneLoss(error) && !/refused|not found/.test(error.message);
        if (!retry || attempt >= options.retries) {
          for (const connecting of early) void connecting.then((lane) => lane.close(), () => {});
          throw error;
        }
        await sleep(options.retryWait * 2 ** attempt * (0.5 + Math.random()));
      }
    }
    const session = { id: opened.session, key: opened.key, server: opened.server };
    const others = await Promise.allSettled(
      early.map((connecting) =>
        connecting.then(
          (lane) => (lane.closed ? joinLane(url, session, options) : join(lane, session)),
          () => joinLane(url, session, options),
        ),
      ),
    );
    const gone = others.find((r): r is PromiseRejectedResult => r.status === 'rejected' && SESSION_GONE.has((r.reason as ParecoError).code));
    if (gone !== undefined) {
      first!.close();
      for (const r of others) if (r.status === 'fulfilled') r.value.close();
      throw gone.reason;
    }
    const lanes = [first!, ...others.map((r) => (r.status === 'fulfilled' ? r.value : undefined))];
    return new LanePool(url, options, session, lanes);
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Lanes connected right now. */
  get connected(): number {
    return this.#slots.filter((s) => s.lane !== undefined && !s.lane.closed).length;
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
        if (!lane.closed || this.#closing || !(error instanceof ParecoError) || !isLaneLoss(error)) throw error;
        this.retriedRequests++;
      }
    }
  }

  /** Ends the session on the server (best effort) and closes every lane. */
  async close(): Promise<void> {
    const lane = this.#slots.map((s) => s.lane).find((l) => l !== undefined && !l.closed);
    if (lane !== undefined && this.#fatal === undefined) {
      await Promise.race([lane.request({ t: 'close' }, 'ok').catch(() => undefined), sleep(2000, undefined, { ref: false })]);
    }
    this.#closing = true;
    this.#stop.abort();
    for (const slot of this.#slots) slot.lane?.close();
    this.#wake();
  }

  async #pick(): Promise<ClientLane> {
    for (;;) {
      if (this.#fatal !== undefined) throw this.#fatal;
      if (this.#closing) throw new ParecoError(ErrorCode.ABORTED, 'the sync is closing');
      if (this.#options.signal?.aborted) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
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

  #attach(slot: Slot, lane: ClientLane): void {
    slot.lane = lane;
    lane.onClose((error) => {
      if (this.#closing || error.code === ErrorCode.ABORTED) return;
      this.#options.onLaneEvent?.({ type: 'lane-lost', reason: error.message });
      void this.#reconnect(slot);
    });
    this.#wake();
  }

  async #reconnect(slot: Slot): Promise<void> {
    slot.lane = undefined;
    const { retries, retryWait } = this.#options;
    for (let attempt = 0; attempt < retries; attempt++) {
      const backoff = Math.min(MAX_BACKOFF, retryWait * 2 ** attempt) * (0.5 + Math.random());
      const waited = await sleep(backoff, true, { signal: this.#stop.signal }).catch(() => false);
      if (!waited || this.#closing || this.#fatal !== undefined) return;
      try {
        const lane = await joinLane(this.#url, this.session, this.#options);
        if (this.#closing) {
          lane.close();
          return;
        }
        this.#options.onLaneEvent?.({ type: 'lane-back' });
        this.#attach(slot, lane);
        return;
      } catch (error) {
        if (error instanceof ParecoError && SESSION_GONE.has(error.code)) {
          this.#fatal ??= error;
          this.#wake();
          return;
        }
      }
    }
    slot.gaveUp = true;
    if (this.#slots.every((s) => s.gaveUp)) {
      this.#fatal ??= new ParecoError(ErrorCode.CONNECTION, `lost every connection to the server and could not reconnect after ${retries} attempts`);
    }
    this.#wake();
  }
}

function isLaneLoss(error: ParecoError): boolean {
  return error.code === ErrorCode.CONNECTION || error.code === ErrorCode.TIMEOUT;
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
