import type { Mode } from '../../protocol/index.js';

/** Route keys remembered per session: a well-behaved client uses one for every lane. */
const MAX_ROUTES = 16;

interface Live {
  mode: Mode;
  lanes: number;
  routes: Set<string>;
}

/**
 * The sessions of a server as its service side sees them: mode, lanes connected now, and the
 * `?route=` keys their lanes came with. The drain asks it which sessions still run and which
 * upgrades belong to them; the metrics read the gauges from it. Fed by the lane hooks (a lane
 * opened or joined a session, a lane closed) and by the registry (a session ended).
 */
export class LiveSessions {
  readonly #sessions = new Map<string, Live>();
  #lanes = 0;

  opened(session: string, mode: Mode): void {
    this.#sessions.set(session, { mode, lanes: 0, routes: new Set() });
  }

  /** A lane joined (or opened) `session`; false when the session is not (or no longer) live. */
  laneJoined(session: string, route: string | undefined): boolean {
    const live = this.#sessions.get(session);
    if (live === undefined) return false;
    live.lanes++;
    this.#lanes++;
    if (route !== undefined && live.routes.size < MAX_ROUTES) live.routes.add(route);
    return true;
  }

  laneLeft(session: string): void {
    const live = this.#sessions.get(session);
    if (live === undefined) return; // the session ended first (its end closes its lanes)
    live.lanes--;
    this.#lanes--;
  }

  ended(session: string): void {
    const live = this.#sessions.get(session);
    if (live === undefined) return;
    this.#lanes -= live.lanes;
    this.#sessions.delete(session);
  }

  /** Lanes joined to a live session right now. */
  get lanes(): number {
    return this.#lanes;
  }

  /** Sessions with at least one lane connected: a client is at work on them. */
  get running(): number {
    let count = 0;
    for (const live of this.#sessions.values()) if (live.lanes > 0) count++;
    return count;
  }

  /** Live sessions per mode. */
  byMode(): Record<Mode, number> {
    const counts: Record<Mode, number> = { upload: 0, download: 0 };
    for (const live of this.#sessions.values()) counts[live.mode]++;
    return counts;
  }

  /** True when a lane of a live session came with this route key: another lane of that sync. */
  hasRoute(route: string): boolean {
    for (const live of this.#sessions.values()) if (live.routes.has(route)) return true;
    return false;
  }
}
