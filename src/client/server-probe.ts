import { ErrorCode, ParecoError } from '../../protocol/index.js';
import { ClientLane } from '../transport/client-lane.js';
import { proxyFor, type ProxySetting } from '../transport/proxy-for.js';
import { tlsTrust } from '../transport/tls-trust.js';
import { toWebSocketUrl } from './server-url.js';

export interface ProbeOptions {
  token?: string;
  proxy?: ProxySetting;
  caFile?: string;
  insecure?: boolean;
  connectTimeout: number;
}

/**
 * Connects once to the server, the way a sync would (proxy, TLS, token), and returns what it
 * says it is (`0.2.0; protocol=1`), without opening a session.
 */
export async function probeServer(server: string, options: ProbeOptions): Promise<string> {
  const url = toWebSocketUrl(server);
  const proxy = proxyFor(new URL(url), options.proxy ?? { kind: 'env' });
  const lane = await ClientLane.connect(url, {
    ...(options.token === undefined ? {} : { token: options.token }),
    connectTimeout: options.connectTimeout,
    ...(proxy === undefined ? {} : { proxy }),
    tls: tlsTrust({ ...(options.caFile === undefined ? {} : { caFile: options.caFile }), insecure: options.insecure ?? false }),
    heartbeat: { interval: 60_000, timeout: 60_000 },
    limits: { maxData: 1024 },
  });
  lane.close();
  if (lane.serverVersion === undefined) throw new ParecoError(ErrorCode.VERSION, `the server at ${server} did not say its version`);
  return lane.serverVersion;
}
