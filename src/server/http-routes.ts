import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthFailures, isAuthorized } from './auth.js';
import type { Drain } from './drain.js';
import type { ServerMetrics } from './metrics.js';

export interface HttpRoutesOptions {
  /** Normalised base path: '' or '/prefix'. */
  basePath: string;
  drain: Drain;
  /** Metrics, when on, and the token a scrape must present (none: open). */
  metrics?: { sink: ServerMetrics; token: string | undefined };
  failures: AuthFailures;
}

/**
 * The plain HTTP endpoints beside the WebSocket one, under the base path:
 * `healthz` (liveness: 200 while the process serves), `readyz` (readiness: 503 while draining)
 * and `metrics` (Prometheus text format, behind a bearer token). The health answers carry no
 * information beyond their status: no token is needed for them.
 * Returns a handler that answers and returns true for these paths, false for anything else.
 */
export function httpRoutes(options: HttpRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { basePath, drain, metrics, failures } = options;
  const paths = { health: `${basePath}/healthz`, ready: `${basePath}/readyz`, metrics: `${basePath}/metrics` };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '').split('?')[0];
    if (path === paths.health) {
      answer(res, 200, 'ok\n');
    } else if (path === paths.ready) {
      if (drain.draining) answer(res, 503, 'draining\n', { 'retry-after': '5' });
      else answer(res, 200, 'ready\n');
    } else if (path === paths.metrics && metrics !== undefined) {
      const address = req.socket.remoteAddress ?? '?';
      if (!isAuthorized(req, metrics.token)) {
        metrics.sink.authFailed('metrics');
        // The same backoff as a lane's wrong token: the metrics endpoint is no faster way to guess.
        setTimeout(() => answer(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer' }), failures.fail(address)).unref();
        return true;
      }
      failures.forgive(address);
      metrics.sink.exposition().then(
        ({ body, contentType }) => answer(res, 200, body, { 'content-type': contentType }),
        () => answer(res, 500, 'metrics could not be collected\n'),
      );
    } else {
      return false;
    }
    return true;
  };
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
