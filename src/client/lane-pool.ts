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

export interface SessionInfo {
  id: string;
  key: string;
  /** Version of the pareco server. */
  server: string;
}

/**
 * The N lanes of one session. The first lane opens the session, the others join it; every
 * request goes to the lane with the least outstanding work, so all connections stay busy.
 */
export class LanePool {
  readonly session: SessionInfo;
  readonly #lanes: ClientLane[];
  #failure: ParecoError | undefined;

  private constructor(session: SessionInfo, lanes: ClientLane[]) {
    this.session = session;
    this.#lanes = lanes;
    for (const lane of lanes) {
      lane.onClose((error) => {
        if (error.code !== ErrorCode.ABORTED) this.#failure ??= error;
      });
    }
  }

  static async open(
    url: string,
    count: number,
    open: Omit<OpenRequest, 'id' | 't' | 'v'>,
    options: ConnectOptions,
  ): Promise<LanePool> {
    const first = await ClientLane.connect(url, options);
    let opened: Extract<Response, { t: 'opened' }>;
    try {
      opened = await first.request({ t: 'open', v: PROTOCOL_VERSION, ...open }, 'opened');
    } catch (error) {
      first.close();
      throw error;
    }
    const session = { id: opened.session, key: opened.key, server: opened.server };
    const others = await Promise.allSettled(
      Array.from({ length: count - 1 }, async () => {
        const lane = await ClientLane.connect(url, options);
        try {
          await lane.request({ t: 'join', v: PROTOCOL_VERSION, session: session.id, key: session.key }, 'ok');
          return lane;
        } catch (error) {
          lane.close();
          throw error;
        }
      }),
    );
    const lanes = [first];
    for (const result of others) if (result.status === 'fulfilled') lanes.push(result.value);
    const failed = others.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      for (const lane of lanes) lane.close();
      throw failed.reason;
    }
    return new LanePool(session, lanes);
  }

  get size(): number {
    return this.#lanes.length;
  }

  /** Sends a request on the least busy lane. */
  request<T extends Response['t']>(body: RequestBody, expect: T): Promise<Extract<Response, { t: T }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    let best: ClientLane | undefined;
    let bestLoad = Infinity;
    for (const lane of this.#lanes) {
      if (lane.closed) continue;
      const load = lane.inFlightBytes + lane.pendingCount * REQUEST_WEIGHT;
      if (load < bestLoad) {
        best = lane;
        bestLoad = load;
      }
    }
    if (best === undefined) return Promise.reject(new ParecoError(ErrorCode.CONNECTION, 'no connection to the server is left'));
    return best.request(body, expect);
  }

  /** Ends the session on the server (best effort) and closes every lane. */
  async close(): Promise<void> {
    const lane = this.#lanes.find((l) => !l.closed);
    if (lane !== undefined && this.#failure === undefined) {
      await lane.request({ t: 'close' }, 'ok').catch(() => undefined);
    }
    for (const l of this.#lanes) l.close();
  }
}
