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
  /** Requests sent again after their lane dropped. */
  retriedRequests = 0;

  private constructor(url: string, options: PoolOptions, session: SessionInfo, lanes: ClientLane[]) {
    this.#url = url;
    this.#options = options;
    this.session = session;
    this.#slots = lanes.map(() => ({ lane: undefined, gaveUp: false }));
    lanes.forEach((lane, i) => this.#attach(this.#slots[i]!, lane));
  }

  static async open(url: string, count: number, open: Omit<OpenRequest, 'id' | 't' | 'v'>, options: PoolOptions): Promise<LanePool> {
    const first = await ClientLane.connect(url, options);
    let opened: Extract<Response, { t: 'opened' }>;
    try {
      opened = await first.request({ t: 'open', v: PROTOCOL_VERSION, ...open }, 'opened');
    } catch (error) {
      first.close();
      throw error;
    }
    const session = { id: opened.session, key: opened.key, server: opened.server };
    const others = await Promise.allSettled(Array.from({ length: count - 1 }, () => joinLane(url, session, options)));
    const lanes = [first];
    for (const result of others) if (result.status === 'fulfilled') lanes.push(result.value);
    const failed = others.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      for (const lane of lanes) lane.close();
      throw failed.reason;
    }
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
      await sleep(backoff, undefined, { ref: false });
      if (this.#closing || this.#fatal !== undefined) return;
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

async function joinLane(url: string, session: SessionInfo, options: ConnectOptions): Promise<ClientLane> {
  const lane = await ClientLane.connect(url, options);
  try {
    await lane.request({ t: 'join', v: PROTOCOL_VERSION, session: session.id, key: session.key }, 'ok');
    return lane;
  } catch (error) {
    lane.close();
    throw error;
  }
}
