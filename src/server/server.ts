import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ENDPOINT_PATH, LIMITS, PROTOCOL_VERSION, SERVER_VERSION_HEADER } from '../../protocol/index.js';
import { VERSION } from '../version.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from '../transport/heartbeat.js';
import { poolReceivedMessages } from '../transport/receive-buffers.js';
import { DIRECT_RECEIVE, DirectReceiver } from '../transport/direct-receive.js';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuthFailures, isAuthorized } from './auth.js';
import type { DrainOutcome } from './drain.js';
import { serveLane } from './lane-server.js';
import type { ServerLog } from './server-log.js';
import { ServerService } from './service.js';
import { DigestCache } from '../fs/digest-cache.js';
import { SessionRegistry } from './session-registry.js';

/** The largest message a lane takes: per-session limits are enforced when frames are parsed. */
const MAX_MESSAGE = LIMITS.maxChunk + 16 * 1024 * 1024;

export interface ServerOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Bearer token every lane must present; none means no authentication. */
  token?: string;
  /** Milliseconds an idle session lives (default 150 s). */
  expire?: number;
  /** URL path prefix, e.g. '/pareco' (the endpoint is then /pareco/v1/ws). */
  basePath?: string;
  /** Base directory for relative remote directories (default: the process's cwd). */
  cwd?: string;
  heartbeat?: HeartbeatOptions;
  log?: ServerLog;
  /** Directories every session must stay in (resolved to real paths at start). */
  roots?: string[];
  /** Allow download sessions only. */
  readOnly?: boolean;
  maxSessions?: number;
  maxLanes?: number;
  /**
   * Prometheus metrics at <base path>/metrics, readable with `token` (default: the auth token;
   * none at all: by anyone who reaches the port). Off by default: prom-client is then not even
   * loaded, which keeps the client's start-up (it embeds a server) fast.
   */
  metrics?: { token?: string };
  /**
   * The digest cache: a directory to keep it in (opened here, closed with the server), or one
   * already open (a client's embedded server shares the client's). None: every file compared is
   * read.
   */
  cache?: string | DigestCache;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  /** ws:// URL of the endpoint. */
  readonly url: string;
  readonly sessions: SessionRegistry;
  /** True when a digest cache is in use (asked for, and it could be opened). */
  readonly cacheInUse: boolean;
  /**
   * Stops taking new sessions (`open` gets UNAVAILABLE, upgrades that are not a running sync's
   * get 503, readyz 503) and resolves once no session has a connection left, after `timeout`
   * ms, or when `signal` aborts. close() then ends whatever is left.
   */
  drain(timeout: number, signal?: AbortSignal): Promise<DrainOutcome>;
  /** Sessions with a connection (a client at work on them). */
  readonly running: number;
  /** Stops accepting, ends every session (partial files are kept) and closes the socket. */
  close(): Promise<void>;
}

/** Normalises a base path to '' or '/segment(s)' without a trailing slash. */
export function normaliseBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** Starts a Pareco server and resolves once it listens. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const endpoint = `${normaliseBasePath(options.basePath)}${ENDPOINT_PATH}`;
  const heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT;
  const roots = await Promise.all((options.roots ?? []).map((root) => realpath(resolve(options.cwd ?? process.cwd(), root))));
  const failures = new AuthFailures();
  const service = await ServerService.create({
    basePath: normaliseBasePath(options.basePath),
    failures,
    ...(options.metrics === undefined ? {} : { metrics: { token: options.metrics.token ?? options.token } }),
  });
  const cache = typeof options.cache === 'string' ? openCache(options.cache, log) : options.cache;
  const sessions = new SessionRegistry({
    // A server of its own waits a moment at a session's end to confirm what it wrote last; one
    // embedded in a client (which shares its cache) does not keep the client waiting.
    ...(cache === undefined ? {} : { cache, patientClose: typeof options.cache === 'string' }),
    expire: options.expire ?? 150_000,
    cwd: options.cwd ?? process.cwd(),
    log,
    roots,
    readOnly: options.readOnly ?? false,
    ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    ...(options.maxLanes === undefined ? {} : { maxLanes: options.maxLanes }),
    onEnded: (session, why) => service.sessionEnded(session, why),
  });
  poolReceivedMessages();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE,
  });
  // The upgrade answer names the server (only an authorised client gets this far): `pareco
  // --version --server URL` shows it without opening a session.
  wss.on('headers', (headers) => headers.push(`${SERVER_VERSION_HEADER}: ${VERSION}; protocol=${PROTOCOL_VERSION}`));
  const http: HttpServer = createHttpServer((req, res) => {
    if (service.handleHttp(req, res)) return;
    res.writeHead(req.url === endpoint ? 426 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === endpoint ? 'WebSocket upgrade required\n' : 'not found\n');
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== endpoint) return refuse(socket, 404, 'Not Found');
    const address = req.socket.remoteAddress ?? '?';
    if (!isAuthorized(req, options.token)) {
      // Each failure from the same address waits longer before its 401: guessing gets slow.
      const delay = failures.fail(address);
      service.authFailed();
      setTimeout(() => refuse(socket, 401, 'Unauthorized'), delay).unref();
      return;
    }
    failures.forgive(address);
    if (service.refuseUpgrade(req, socket)) return;
    // Behind a reverse proxy the socket peer is the proxy; the client is what it forwarded for.
    const forwarded = req.headers['x-forwarded-for'];
    const direct = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const peer = typeof forwarded === 'string' && forwarded !== '' ? `${forwarded.split(',').at(-1)!.trim()} (via ${direct})` : direct;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (DIRECT_RECEIVE) new DirectReceiver('server', MAX_MESSAGE).adopt(socket, ws);
      serveLane(ws, { registry: sessions, heartbeat, peer, log, hooks: service.hooksFor(ws, req) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    port: address.port,
    host: address.address,
    url: `ws://${hostForUrl}:${address.port}${endpoint}`,
    sessions,
    cacheInUse: cache !== undefined,
    drain: (timeout, signal) => service.startDrain(timeout, signal),
    get running() {
      return service.running;
    },
    async close() {
      // Not listening first: a lane of an ended session that reconnects must find no one here
      // (a load balancer then tries another server) rather than a server going away.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      await sessions.closeAll();
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await closed;
      // Only a cache opened here: a shared one is its owner's to close.
      if (typeof options.cache === 'string') cache?.close();
    },
  };
}

function openCache(dir: string, log: ServerLog): DigestCache | undefined {
  return DigestCache.open(dir, (message) => log({ event: 'cache-warning', message }));
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
