import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ParecoError } from '../../protocol/index.js';
import type { LiveSessions } from './live-sessions.js';

/** How often a drain looks whether the running sessions have finished. */
const POLL = 100;

/** What ended a drain: every session finished, the timeout, or the caller's signal. */
export type DrainOutcome = 'drained' | 'timeout' | 'signal';

/**
 * A server that is going away: it takes no new session, lets the running ones finish, and
 * says so to load balancers (`/readyz` 503, 503 on upgrades that are not a running sync's).
 * Lanes of a running sync carry the same `?route=` key as the lane that opened it, so a lane
 * of such a sync that reconnects is still let in.
 */
export class Drain {
  readonly #live: LiveSessions;
  #draining = false;

  constructor(live: LiveSessions) {
    this.#live = live;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Whether to accept a WebSocket upgrade carrying `route` (the `?route=` key, if any). */
  admitsUpgrade(route: string | undefined): boolean {
    return !this.#draining || (route !== undefined && this.#live.hasRoute(route));
  }

  /** Throws UNAVAILABLE while draining: an `open` must go to another server. */
  admitOpen(): void {
    if (this.#draining) {
      throw new ParecoError(ErrorCode.UNAVAILABLE, 'this server is shutting down and takes no new session: try again (another server may take it)');
    }
  }

  /**
   * Starts draining and resolves once no session has a lane connected (sessions whose client
   * is gone are not waited for), after `timeout` ms, or when `signal` aborts.
   */
  async run(timeout: number, signal?: AbortSignal): Promise<DrainOutcome> {
    this.#draining = true;
    const deadline = Date.now() + timeout;
    for (;;) {
      if (this.#live.running === 0) return 'drained';
      if (signal?.aborted) return 'signal';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await sleep(Math.min(POLL, left), undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
    }
  }
}
