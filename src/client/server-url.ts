import { ENDPOINT_PATH, ErrorCode, ParecoError } from '../../protocol/index.js';
import { proxyFor, type ProxySetting } from '../transport/proxy-for.js';
import { tlsTrust, type TlsTrust } from '../transport/tls-trust.js';

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

/** How the client reaches a server besides its URL. */
export interface ReachOptions {
  proxy?: ProxySetting;
  caFile?: string;
  insecure?: boolean;
}

/** The lane URL for a --server value, the proxy to tunnel through (if any) and the TLS trust. */
export function serverConnection(server: string, options: ReachOptions): { url: string; proxy?: URL; tls: TlsTrust } {
  const url = toWebSocketUrl(server);
  const proxy = proxyFor(new URL(url), options.proxy ?? { kind: 'env' });
  const tls = tlsTrust({ ...(options.caFile === undefined ? {} : { caFile: options.caFile }), insecure: options.insecure ?? false });
  return { url, ...(proxy === undefined ? {} : { proxy }), tls };
}
