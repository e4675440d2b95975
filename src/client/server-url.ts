import { ENDPOINT_PATH, ErrorCode, ParecoError } from '../../protocol/index.js';

const SCHEMES: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };

/**
 * The lane URL for a --server value: http(s) becomes ws(s), a bare host:port means ws://,
 * any path is kept as the server's base path, and the endpoint path is appended.
 */
export function toWebSocketUrl(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `ws://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ParecoError(ErrorCode.USAGE, `invalid --server URL ${JSON.stringify(server)}`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) {
    throw new ParecoError(ErrorCode.USAGE, `invalid --server URL ${JSON.stringify(server)}: use http://, https://, ws:// or wss://`);
  }
  if (url.hostname === '') throw new ParecoError(ErrorCode.USAGE, `invalid --server URL ${JSON.stringify(server)}: no host`);
  url.protocol = scheme;
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = base.endsWith(ENDPOINT_PATH) ? base : `${base}${ENDPOINT_PATH}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/**
 * The lane URL with its route key (`?route=`): the same on every lane of one sync, ignored by
 * the server, and what a proxy in front of several servers hashes on (see deploy/nginx.conf).
 */
export function withRoute(laneUrl: string, route: string): string {
  const url = new URL(laneUrl);
  url.searchParams.set('route', route);
  return url.toString();
}
