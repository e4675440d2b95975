import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { createConnection } from 'node:net';
import WebSocket from 'ws';
import {
  encodeMessages,
  MessageDecoder,
  ErrorCode,
  LIMITS,
  ParecoError,
  parseResponse,
  type DecodeLimits,
  type PayloadCompressor,
  type Request,
  type Response,
  SERVER_VERSION_HEADER,
} from '../../protocol/index.js';
import { batchSendsPerTurn } from './send-batching.js';
import { poolReceivedMessages } from './receive-buffers.js';
import { DIRECT_RECEIVE, DirectReceiver } from './direct-receive.js';
import { requestTrace } from './request-trace.js';
import type { Cancellation } from './cancellation.js';
import { startHeartbeat, type HeartbeatOptions } from './heartbeat.js';
import { redactProxy } from './proxy-for.js';
import type { TlsTrust } from './tls-trust.js';

/** A request as the caller writes it: the lane assigns the id. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export interface ConnectOptions {
  /** Bearer token for the upgrade request, if the server wants one. */
  token?: string;
  /** Milliseconds allowed for TCP + TLS + upgrade. */
  connectTimeout: number;
  heartbeat: HeartbeatOptions;
  limits: DecodeLimits;
  /** HTTP proxy to tunnel through with CONNECT (see proxyFor). */
  proxy?: URL;
  /** Certificate checks for wss:// (default: Node's trust store, verified). */
  tls?: TlsTrust;
  /** Cancelling gives up the connection attempt at once (ABORTED). */
  cancellation?: Cancellation;
  /** Counts the bytes of every message sent and received (shared by the lanes of a sync). */
  wire?: WireBytes;
}

/** Bytes of WebSocket messages (frames and payloads, compressed as they travel). */
export interface WireBytes {
  sent: number;
  received: number;
}

interface Pending {
  expect: Response['t'];
  type: Request['t'];
  bytes: number;
  /** performance.now() when it was sent (for the trace). */
  sent: number;
  /** When it was sent; undefined for requests that may legitimately take long (see watchdog). */
  sentAt: number | undefined;
  resolve: (response: Response) => void;
  reject: (error: ParecoError) => void;
}

/**
 * The client end of one lane: a WebSocket on which requests are pipelined and answered by id.
 * Any failure of the connection rejects every pending request with a CONNECTION error.
 */
export class ClientLane {
  readonly #ws: WebSocket;
  readonly #batchSends: () => void;
  readonly #pending = new Map<number, Pending>();
  readonly #limits: DecodeLimits;
  readonly #decoder: MessageDecoder;
  #nextId = 1;
  #closedError: ParecoError | undefined;
  #closeListeners: ((error: ParecoError) => void)[] = [];
  /** Payload bytes of requests sent and not yet answered: the scheduler balances lanes on it. */
  inFlightBytes = 0;
  /** A number for the trace: lanes in the order they connected. */
  readonly #number = ++lanesMade;
  /** What the server said it is in the upgrade answer (`0.2.0; protocol=1`), if it did. */
  readonly serverVersion: string | undefined;
  /** Compresses request payloads, once the session agreed to compression. */
  compressor: PayloadCompressor | undefined;
  readonly #wire: WireBytes;

  private constructor(ws: WebSocket, options: ConnectOptions, serverVersion: string | undefined) {
    this.#ws = ws;
    this.#batchSends = batchSendsPerTurn(ws);
    this.serverVersion = serverVersion;
    this.#limits = options.limits;
    this.#wire = options.wire ?? { sent: 0, received: 0 };
    // A payload is a chunk, or a batch of small files (datamany).
    this.#decoder = new MessageDecoder(() => Math.max(options.limits.maxData, LIMITS.maxBatchBytes));
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => {
      const why = reason.length > 0 ? reason.toString() : `code ${code}`;
      this.#fail(new ParecoError(ErrorCode.CONNECTION, `connection to the server closed (${why})`));
    });
    ws.on('error', (error) => this.#fail(new ParecoError(ErrorCode.CONNECTION, `connection error: ${error.message}`, { cause: error })));
    startHeartbeat(ws, options.heartbeat);
    // A peer that answers pings but not a request (stuck, or hostile) is as dead as a silent one.
    // begin (which may copy a huge file) and commit (which may fsync it) are not timed.
    const { timeout } = options.heartbeat;
    const watchdog = setInterval(() => {
      let oldest: number | undefined;
      for (const pending of this.#pending.values()) {
        if (pending.sentAt !== undefined) {
          oldest = pending.sentAt;
          break;
        }
      }
      if (oldest !== undefined && Date.now() - oldest > timeout) {
        this.#fail(new ParecoError(ErrorCode.TIMEOUT, `no answer from the server for ${Math.round(timeout / 1000)}s`));
        ws.terminate();
      }
    }, Math.max(50, Math.min(timeout / 4, 5_000)));
    watchdog.unref();
    ws.once('close', () => clearInterval(watchdog));
  }

  static async connect(url: string, options: ConnectOptions): Promise<ClientLane> {
    if (options.cancellation?.cancelled) throw new ParecoError(ErrorCode.ABORTED, 'interrupted');
    // Loaded only when used: it is a quarter of the client's start-up time.
    const proxyAgent = options.proxy === undefined ? undefined : (await import('https-proxy-agent')).HttpsProxyAgent;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const proxy = options.proxy;
      // One agent per connection, so that the CONNECT answer belongs to this lane.
      const agent: Agent | undefined = proxy === undefined ? undefined : new proxyAgent!(proxy, { keepAlive: false });
      let proxyStatus: number | undefined;
      agent?.on('proxyConnect', (connect: { statusCode: number }) => (proxyStatus = connect.statusCode));
      poolReceivedMessages();
      const maxPayload = Math.max(options.limits.maxData, LIMITS.maxBatchBytes) + 16 * 1024 * 1024;
      const direct = proxy === undefined && url.startsWith('ws:') && DIRECT_RECEIVE ? new DirectReceiver('client', maxPayload) : undefined;
      const ws = new WebSocket(url, {
        ...(direct === undefined ? {} : { createConnection: direct.createConnection as typeof createConnection }),
        headers,
        perMessageDeflate: false,
        maxPayload,
        // Masking protects browsers' shared proxies from cache poisoning; for a CLI it is only
        // a per-byte XOR and a copy, so send a zero mask (still a valid frame).
        generateMask: (mask) => mask.fill(0),
        followRedirects: false,
        ...(agent === undefined ? {} : { agent }),
        ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
        rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      });
      const via = proxy === undefined ? '' : ` via proxy ${redactProxy(proxy)}`;
      /** What the connection failed to reach: the proxy, until it has answered the CONNECT. */
      const target = () => (proxy !== undefined && proxyStatus === undefined ? `the proxy ${redactProxy(proxy)}` : `${redact(url)}${via}`);
      let settled = false;
      // Our own timer rather than ws's handshakeTimeout: its expiry is then known by its code,
      // not recognised in an error message.
      const timer = setTimeout(
        () => fail(new ParecoError(ErrorCode.TIMEOUT, `cannot reach ${target()}: no answer within ${formatSeconds(options.connectTimeout)} (handshake timed out)`)),
        options.connectTimeout,
      );
      let stopWatching: (() => void) | undefined;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
        stopWatching?.();
      };
      const fail = (error: ParecoError) => {
        if (settled) return;
        settle();
        ws.terminate();
        reject(error);
      };
      stopWatching = options.cancellation?.onCancel(() => fail(new ParecoError(ErrorCode.ABORTED, 'interrupted')));
      ws.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
        res.resume();
        const status = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
        if (proxyStatus !== undefined && proxyStatus !== 200) {
          const hint =
            proxyStatus === 407
              ? proxy?.username
                ? ' (check the user and password in the proxy URL)'
                : ' (the proxy wants a user and password: http://user:password@host:port)'
              : proxyStatus === 403
                ? ` (the proxy does not allow tunnels to ${new URL(url).host})`
                : '';
          const code = proxyStatus === 403 || proxyStatus === 407 ? ErrorCode.PROXY : ErrorCode.CONNECTION;
          fail(new ParecoError(code, `the proxy ${redactProxy(proxy!)} refused to connect to ${new URL(url).host}: ${status}${hint}`));
        } else if (res.statusCode === 401 || res.statusCode === 403) {
          fail(new ParecoError(ErrorCode.AUTH, `authentication failed: the server refused the token (HTTP ${res.statusCode})`));
        } else {
          fail(new ParecoError(ErrorCode.CONNECTION, `the server answered ${status} instead of a WebSocket upgrade at ${redact(url)}${via}`));
        }
      });
      ws.once('error', (error: NodeJS.ErrnoException) => {
        const certificate = CERTIFICATE_PROBLEMS[error.code ?? ''];
        if (certificate !== undefined) {
          const fix =
            options.tls?.caFile === undefined
              ? 'trust its CA with --ca FILE, or skip the check with --insecure'
              : `it is signed neither by a CA in --ca ${options.tls.caFile} nor by a public one`;
          fail(new ParecoError(ErrorCode.TLS, `cannot connect to ${redact(url)}: ${certificate}: ${error.message} (${fix})`, { cause: error }));
          return;
        }
        const code = UNREACHABLE_ERRNOS.has(error.code ?? '') ? ErrorCode.UNREACHABLE : ErrorCode.CONNECTION;
        fail(new ParecoError(code, `cannot connect to ${target()}: ${describeConnectError(error)}`, { cause: error }));
      });
      let serverVersion: string | undefined;
      ws.once('upgrade', (res: IncomingMessage) => {
        const header = res.headers[SERVER_VERSION_HEADER];
        if (typeof header === 'string') serverVersion = header;
      });
      ws.once('open', () => {
        direct?.attach(ws);
        if (settled) return;
        settle();
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        resolve(new ClientLane(ws, options, serverVersion));
      });
    });
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** Requests sent and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Called once when the lane fails or is closed. */
  onClose(listener: (error: ParecoError) => void): void {
    this.#closeListeners.push(listener);
  }

  /** Sends a request and resolves with its response of type `expect`; an error frame rejects. */
  request<T extends Response['t']>(body: RequestBody, expect: T): Promise<Extract<Response, { t: T }>> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    const bytes = payloadBytes(body);
    return new Promise((resolve, reject) => {
      const sentAt = body.t === 'begin' || body.t === 'commit' ? undefined : Date.now();
      this.#pending.set(id, { expect, type: body.t, bytes, sent: performance.now(), sentAt, resolve: resolve as (r: Response) => void, reject });
      this.inFlightBytes += bytes;
      const onSent = (error?: Error | null) => {
        if (error) this.#fail(new ParecoError(ErrorCode.CONNECTION, `send failed: ${error.message}`, { cause: error }));
      };
      const frame: Request = { ...body, id } as Request;
      this.#batchSends();
      for (const message of encodeMessages(frame, this.compressor)) {
        this.#wire.sent += message.length;
        this.#ws.send(message, { binary: true }, onSent);
      }
    });
  }

  /** Closes the lane; pending requests are rejected. */
  close(): void {
    this.#fail(new ParecoError(ErrorCode.ABORTED, 'lane closed'));
    this.#ws.close(1000);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    let response: Response;
    try {
      if (!isBinary) throw new ParecoError(ErrorCode.PROTOCOL, 'text message on a binary protocol');
      this.#wire.received += data.length;
      const frame = this.#decoder.decode(data);
      if (frame === undefined) return; // its payload comes next
      response = parseResponse(frame, this.#limits);
    } catch (error) {
      const message = error instanceof ParecoError ? error.message : String(error);
      this.#fail(new ParecoError(ErrorCode.PROTOCOL, `the server sent a bad frame: ${message}`));
      this.#ws.close(1002, 'protocol error');
      return;
    }
    const pending = this.#pending.get(response.id);
    if (pending === undefined) {
      if (response.t === 'error') {
        this.#fail(new ParecoError(response.code, response.message));
        return;
      }
      this.#fail(new ParecoError(ErrorCode.PROTOCOL, `the server answered unknown request ${response.id}`));
      this.#ws.close(1002, 'protocol error');
      return;
    }
    this.#pending.delete(response.id);
    requestTrace?.(this.#number, pending.type, pending.bytes, pending.sent);
    this.inFlightBytes -= pending.bytes;
    if (response.t === 'error') pending.reject(new ParecoError(response.code, response.message));
    else if (response.t !== pending.expect) {
      pending.reject(new ParecoError(ErrorCode.PROTOCOL, `expected a ${pending.expect} response, got ${response.t}`));
    } else pending.resolve(response);
  }

  #fail(error: ParecoError): void {
    if (this.#closedError !== undefined) return;
    this.#closedError = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.inFlightBytes = 0;
    for (const listener of this.#closeListeners) listener(error);
  }
}

let lanesMade = 0;

/** Payload bytes a request moves, either way: what the scheduler balances lanes on. */
function payloadBytes(body: RequestBody): number {
  switch (body.t) {
    case 'write':
    case 'putmany':
      return body.data.length;
    case 'read':
      return body.length;
    case 'readmany':
      return body.files.reduce((sum, file) => sum + file.size, 0);
    default:
      return 0;
  }
}

/** The URL without credentials or route key, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** TLS verification failures: the fix is the same for each (trust the CA, or --insecure). */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate chain ends in an untrusted CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate is not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the server's certificate is not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT: "the server's certificate is not signed by a trusted CA",
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  CERT_NOT_YET_VALID: "the server's certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is for another host name",
};

/** Errors that say nothing listens there, or there is no such host: retrying a first connection is pointless. */
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'timed out';
    default:
      return error.message;
  }
}
