import { ErrorCode, ParecoError } from '../../protocol/index.js';
import { ClientLane } from '../transport/client-lane.js';
import { serverConnection, type ReachOptions } from './server-url.js';

export interface ProbeOptions extends ReachOptions {
  token?: string;
  connectTimeout: number;
}

/**
 * Connects once to the server, the way a sync would (proxy, TLS, token), and returns what it
 * says it is (`0.2.0; protocol=1`), without opening a session.
 */
export async function probeServer(server: string, options: ProbeOptions): Promise<string> {
  const { url, ...reach } = serverConnection(server, options);
  const lane = await ClientLane.connect(url, {
    ...(options.token === undefined ? {} : { token: options.token }),
    connectTimeout: options.connectTimeout,
    ...reach,
    heartbeat: { interval: 60_000, timeout: 60_000 },
    limits: { maxData: 1024 },
  });
  lane.close();
  if (lane.serverVersion === undefined) throw new ParecoError(ErrorCode.VERSION, `the server at ${server} did not say its version`);
  return lane.serverVersion;
}
