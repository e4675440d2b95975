import { isIP } from 'node:net';
import { ErrorCode, ParecoError } from '../../protocol/index.js';

/** Where the proxy for a connection comes from: --proxy, --no-proxy, or the environment. */
export type ProxySetting = { kind: 'env' } | { kind: 'none' } | { kind: 'url'; url: string };

/**
 * The HTTP proxy to tunnel a lane to `target` through, or undefined to connect directly.
 * From the environment: HTTPS_PROXY for wss:// (and https://), HTTP_PROXY for ws://, lower
 * case first as curl does, unless NO_PROXY names the host. An explicit --proxy wins over both.
 * (Generic resolvers look up WSS_PROXY for wss:// URLs, which no corporate setup exports.)
 */
export function proxyFor(target: URL, setting: ProxySetting, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  if (setting.kind === 'none') return undefined;
  if (setting.kind === 'url') return parseProxyUrl(setting.url, '--proxy');
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const name = secure ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = firstSet(env, name.toLowerCase(), name) ?? firstSet(env, 'all_proxy', 'ALL_PROXY');
  if (value === undefined) return undefined;
  if (bypassed(target, firstSet(env, 'no_proxy', 'NO_PROXY') ?? '')) return undefined;
  return parseProxyUrl(value, secure ? 'HTTPS_PROXY' : 'HTTP_PROXY');
}

function firstSet(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** A proxy URL: http:// or https://, a bare host:port meaning http://. */
export function parseProxyUrl(value: string, source: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ParecoError(ErrorCode.USAGE, `invalid proxy URL in ${source}: ${JSON.stringify(redactProxy(value))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ParecoError(ErrorCode.USAGE, `unsupported proxy URL in ${source}: ${url.protocol}// (use an http:// or https:// proxy)`);
  }
  if (url.hostname === '') throw new ParecoError(ErrorCode.USAGE, `invalid proxy URL in ${source}: no host`);
  return url;
}

/**
 * Whether NO_PROXY exempts the target: a comma- or space-separated list of `*`, host names
 * (matching the name and its subdomains; a leading `.` or `*.` means the same), IP addresses,
 * each optionally with `:port`. Case-insensitive, as curl and Go read it.
 */
export function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'wss:' || target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1]!;
      entryPort = bracketed[2];
    } else if (isIP(entry) !== 6) {
      const colon = entry.lastIndexOf(':');
      if (colon > 0 && /^\d+$/.test(entry.slice(colon + 1))) {
        entryPort = entry.slice(colon + 1);
        entry = entry.slice(0, colon);
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || (isIP(host) === 0 && host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** The proxy URL without its password, for messages. */
export function redactProxy(value: string | URL): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return String(value).replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}
