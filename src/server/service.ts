import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { AuthFailures } from './auth.js';
import { Drain, type DrainOutcome } from './drain.js';
import { httpRoutes } from './http-routes.js';
import { laneHooks, type LaneHooks } from './lane-hooks.js';
import { LiveSessions } from './live-sessions.js';
import type { ServerMetrics } from './metrics.js';
import type { Session } from './session.js';

export interface ServiceOptions {
  /** Normalised base path: '' or '/prefix'. */
  basePath: string;
  /** Prometheus metrics at <base>/metrics, readable with `token` (none: by anyone who reaches it). */
  metrics?: { token: string | undefined };
  failures: AuthFailures;
}

/** Longest `?route=` key remembered: the client's are 16 characters. */
const MAX_ROUTE = 128;

/**
 * What pareco-server needs to run as a service, beside the protocol: health and readiness
 * endpoints, Prometheus metrics, and a graceful drain. The HTTP server hands it requests and
 * upgrades, the lane server reports through the hooks it makes, the registry tells it when a
 * session ends.
 */
export class ServerService {
  readonly live = new LiveSessions();
  readonly drain = new Drain(this.live);
  readonly metrics: ServerMetrics | undefined;
  readonly #routes: ReturnType<typeof httpRoutes>;

  private constructor(options: ServiceOptions, makeMetrics?: (live: LiveSessions, drain: Drain) => ServerMetrics) {
    this.metrics = makeMetrics?.(this.live, this.drain);
    this.#routes = httpRoutes({
      basePath: options.basePath,
      drain: this.drain,
      failures: options.failures,
      ...(this.metrics === undefined || options.metrics === undefined ? {} : { metrics: { sink: this.metrics, token: options.metrics.token } }),
    });
  }

  static async create(options: ServiceOptions): Promise<ServerService> {
    if (options.metrics === undefined) return new ServerService(options);
    // Loaded only when metrics are on: prom-client's ~50 ms stay out of the client's start-up.
    const { ServerMetrics } = await import('./metrics.js');
    return new ServerService(options, (live, drain) => new ServerMetrics(live, drain));
  }

  /** Answers healthz, readyz and metrics; false for any other request. */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#routes(req, res);
  }

  authFailed(): void {
    this.metrics?.authFailed('lane');
  }

  /**
   * While draining, answers an upgrade that is not a lane of a running sync with 503 and
   * returns true: a load balancer sends it to another server, a client tries again later.
   */
  refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    if (this.drain.admitsUpgrade(routeOf(req))) return false;
    this.metrics?.drainRefused();
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return true;
  }

  hooksFor(ws: WebSocket, req: IncomingMessage): LaneHooks {
    return laneHooks({ ws, socket: req.socket, route: routeOf(req), live: this.live, drain: this.drain, metrics: this.metrics });
  }

  sessionEnded(session: Session, reason: string): void {
    this.live.ended(session.id);
    this.metrics?.sessionEnded(session.mode, reason);
  }

  /** Sessions with a lane connected. */
  get running(): number {
    return this.live.running;
  }

  startDrain(timeout: number, signal?: AbortSignal): Promise<DrainOutcome> {
    return this.drain.run(timeout, signal);
  }
}

function routeOf(req: IncomingMessage): string | undefined {
  const query = (req.url ?? '').split('?')[1];
  if (query === undefined) return undefined;
  const route = new URLSearchParams(query).get('route');
  return route === null || route === '' || route.length > MAX_ROUTE ? undefined : route;
}
