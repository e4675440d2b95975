import type { WebSocket } from 'ws';
import {
  encodeMessages,
  MessageDecoder,
  ErrorCode,
  LIMITS,
  ParecoError,
  parseRequest,
  PROTOCOL_VERSION,
  toParecoError,
  type DecodeLimits,
  type Request,
  type Response,
} from '../../protocol/index.js';
import { VERSION } from '../version.js';
import { startHeartbeat, type HeartbeatOptions } from '../transport/heartbeat.js';
import { batchSendsPerTurn } from '../transport/send-batching.js';
import type { LaneHooks } from './lane-hooks.js';
import { handleRequest } from './request-handler.js';
import type { ServerLog } from './server-log.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';

export interface LaneContext {
  registry: SessionRegistry;
  heartbeat: HeartbeatOptions;
  /** Where the lane comes from, for log lines. */
  peer: string;
  log: ServerLog;
  /** Told about each request and answer (metrics, drain); may refuse an open (draining). */
  hooks?: LaneHooks;
}

/** Requests one lane may have in flight (the client keeps far fewer). */
const MAX_IN_FLIGHT = 1024;
/** Bytes of reads one lane may have in flight: bounds what the server buffers for one peer. */
const MAX_IN_FLIGHT_READ_BYTES = 256 * 1024 * 1024;

/** Close code for protocol errors (RFC 6455). */
const PROTOCOL_ERROR = 1002;

/**
 * Serves one lane: the first frame must open or join a session; after that, requests are
 * carried out concurrently and answered by id. Anything malformed ends this lane only.
 */
export function serveLane(ws: WebSocket, context: LaneContext): void {
  let session: Session | undefined;
  let limits: DecodeLimits = { maxData: LIMITS.maxChunk };
  // Before open/join nothing may carry a payload.
  // A payload is a chunk, or a batch of small files (putmany).
  const decoder = new MessageDecoder(() => (session === undefined ? 0 : Math.max(limits.maxData, LIMITS.maxBatchBytes)));
  let greeting: Promise<void> | undefined;
  let inFlight = 0;
  let inFlightReadBytes = 0;

  const batchSends = batchSendsPerTurn(ws);
  /** Sends a response; `release` is called once its bytes are handed to the socket. */
  const send = (response: Response, release?: () => void) => {
    context.hooks?.answered(response);
    if (ws.readyState !== ws.OPEN) {
      release?.();
      return;
    }
    const messages = encodeMessages(response, session?.compressor);
    batchSends();
    messages.forEach((message, i) => ws.send(message, { binary: true }, i === messages.length - 1 ? () => release?.() : undefined));
  };
  const reject = (id: number, error: ParecoError, close: boolean) => {
    send({ t: 'error', id, code: error.code, message: error.message });
    if (close) {
      context.log({ event: 'lane-closed', client: context.peer, code: error.code, error: error.message });
      ws.close(PROTOCOL_ERROR, error.code);
    }
  };

  startHeartbeat(ws, context.heartbeat, () => session?.touch());

  ws.on('error', (error) => context.log({ event: 'lane-error', client: context.peer, error: error.message }));
  ws.on('close', () => {
    session?.lanes.delete(ws);
    session?.touch(); // idle time counts from the last lane's departure
  });
  ws.on('message', (data, isBinary) => {
    let request: Request;
    const bytes = data as Buffer;
    try {
      if (!isBinary) throw new ParecoError(ErrorCode.PROTOCOL, 'text message on a binary protocol');
      const value = decoder.decode(bytes);
      if (value === undefined) return; // its payload comes next
      try {
        request = parseRequest(value, limits);
      } catch (error) {
        // A bad path is the request's fault, not the lane's: answer it and carry on.
        const id = (value as { id?: unknown } | null)?.id;
        if (error instanceof ParecoError && error.code === ErrorCode.BAD_PATH && Number.isSafeInteger(id) && session) {
          reject(id as number, error, false);
          return;
        }
        throw error;
      }
    } catch (error) {
      reject(0, toParecoError(error), true);
      return;
    }
    context.hooks?.received(request);

    if (session === undefined) {
      if (greeting !== undefined) {
        // Requests pipelined behind open/join wait for it.
        void greeting.then(() => (session ? dispatch(request) : undefined));
        return;
      }
      greeting = greet(request).catch((error: unknown) => reject(request.id, toParecoError(error), true));
      return;
    }
    dispatch(request);
  });

  async function greet(request: Request): Promise<void> {
    if (request.t !== 'open' && request.t !== 'join') {
      throw new ParecoError(ErrorCode.PROTOCOL, `the first frame must be open or join, not ${request.t}`);
    }
    if (request.v !== PROTOCOL_VERSION) {
      throw new ParecoError(
        ErrorCode.VERSION,
        `protocol version mismatch: the client speaks version ${request.v}, this server (pareco ${VERSION}) speaks version ${PROTOCOL_VERSION}`,
      );
    }
    if (request.t === 'open') {
      // Only a new session may be refused while draining: another lane of a running one joins.
      if (!context.registry.joins(request)) context.hooks?.admitOpen();
      const { session: opened, created } = await context.registry.open(request, ws);
      if (ws.readyState !== ws.OPEN) opened.lanes.delete(ws);
      session = opened;
      limits = { maxData: opened.chunk };
      if (created) {
        opened.client = context.peer;
        context.log({ event: 'session-opened', session: opened.id, client: context.peer, mode: opened.mode, dry: opened.dry, dir: opened.root });
      } else {
        context.log({ event: 'lane-joined', session: opened.id, client: context.peer, lanes: opened.lanes.size });
      }
      send({ t: 'opened', id: request.id, session: opened.id, key: opened.key, server: VERSION, joined: !created, zstd: opened.compressor !== undefined });
      return;
    }
    const joined = context.registry.join(request.session, request.key);
    if (ws.readyState === ws.OPEN) joined.lanes.add(ws);
    session = joined;
    context.log({ event: 'lane-joined', session: joined.id, client: context.peer, lanes: joined.lanes.size });
    limits = { maxData: joined.chunk };
    send({ t: 'ok', id: request.id });
  }

  function dispatch(request: Request): void {
    const current = session!;
    current.touch();
    // A client pipelines, but within bounds: past them it is broken or hostile.
    const readBytes = request.t === 'read' ? request.length : 0;
    if (inFlight >= MAX_IN_FLIGHT || inFlightReadBytes + readBytes > MAX_IN_FLIGHT_READ_BYTES) {
      reject(request.id, new ParecoError(ErrorCode.PROTOCOL, `more than ${MAX_IN_FLIGHT} requests or ${MAX_IN_FLIGHT_READ_BYTES} bytes of reads in flight on one connection`), true);
      return;
    }
    inFlight++;
    inFlightReadBytes += readBytes;
    const done = () => {
      inFlight--;
      inFlightReadBytes -= readBytes;
    };
    if (request.t === 'close') {
      const cached = current.tree.cacheHits;
      send({ t: 'closed', id: request.id, cachedFiles: cached.files, cachedBytes: cached.bytes });
      void context.registry.end(current, 'closed');
      return;
    }
    handleRequest(current, request).then(
      ({ response, release }) => {
        done();
        send(response, release);
      },
      (error: unknown) => {
        done();
        const failure = toParecoError(error);
        reject(request.id, failure, failure.code === ErrorCode.PROTOCOL);
      },
    );
  }
}
