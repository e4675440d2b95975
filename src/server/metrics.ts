import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type * as PromClient from 'prom-client';
import type { Mode } from '../../protocol/index.js';
import { BlockDigestCache } from '../fs/block-digest-cache.js';
import { VERSION } from '../version.js';
import type { Drain } from './drain.js';
import type { LiveSessions } from './live-sessions.js';

// Required, not imported: a bundle hoists an external module's static import to its top, and
// prom-client would then be loaded by every client and server run.
const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = createRequire(import.meta.url)('prom-client') as typeof PromClient;

/**
 * The Prometheus metrics of one server (prom-client, its own registry). This module is only
 * imported when metrics are on: prom-client costs ~35 ms to load, which the client's embedded
 * server must not pay. Every label has a small fixed set of values (frame types, error codes,
 * modes, end reasons): never a path, a session id or an address.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests: PromClient.Counter<'type' | 'code'>;
  readonly #latency: PromClient.Histogram<'type'>;
  readonly #fileBytes: PromClient.Counter<'direction'>;
  readonly #filesCommitted: PromClient.Counter;
  readonly #sessionsOpened: PromClient.Counter<'mode'>;
  readonly #sessionsEnded: PromClient.Counter<'mode' | 'reason'>;
  readonly #lanesJoined: PromClient.Counter;
  readonly #authFailures: PromClient.Counter<'endpoint'>;
  readonly #drainRefusals: PromClient.Counter;
  /** Sockets of lanes still open, and the bytes of those closed: wire bytes are both. */
  readonly #sockets = new Set<Socket>();
  readonly #closedWire = { received: 0, sent: 0 };

  constructor(live: LiveSessions, drain: Drain) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const sockets = this.#sockets;
    const closedWire = this.#closedWire;

    new Gauge({
      name: 'pareco_build_info',
      help: 'Always 1; the pareco version and the Node.js version as labels.',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: VERSION, node: process.version }, 1);
    new Gauge({
      name: 'pareco_sessions_open',
      help: 'Sessions alive now (with or without a connection), by mode.',
      labelNames: ['mode'],
      registers,
      collect() {
        for (const [mode, count] of Object.entries(live.byMode())) this.set({ mode }, count);
      },
    });
    this.#sessionsOpened = new Counter({ name: 'pareco_sessions_opened_total', help: 'Sessions opened, by mode.', labelNames: ['mode'], registers });
    this.#sessionsEnded = new Counter({
      name: 'pareco_sessions_ended_total',
      help: 'Sessions ended, by mode and reason: closed (by its client, the normal end), expired (no connection left for --expire), replaced (a new sync took its directory), shutdown (the server stopped, or its drain timed out).',
      labelNames: ['mode', 'reason'],
      registers,
    });
    new Gauge({
      name: 'pareco_lanes_connected',
      help: 'Connections (lanes) joined to a session now.',
      registers,
      collect() {
        this.set(live.lanes);
      },
    });
    this.#lanesJoined = new Counter({ name: 'pareco_lanes_joined_total', help: 'Lanes that opened or joined a session, reconnections included.', registers });
    this.#fileBytes = new Counter({
      name: 'pareco_file_bytes_total',
      help: 'File data received (write, put) and sent (read), by direction.',
      labelNames: ['direction'],
      registers,
    });
    new Counter({
      name: 'pareco_wire_bytes_total',
      help: 'Bytes on the lanes\' TCP connections (WebSocket frames and upgrade requests), by direction.',
      labelNames: ['direction'],
      registers,
      collect() {
        let received = closedWire.received;
        let sent = closedWire.sent;
        for (const socket of sockets) {
          received += socket.bytesRead;
          sent += socket.bytesWritten;
        }
        this.reset();
        this.inc({ direction: 'received' }, received);
        this.inc({ direction: 'sent' }, sent);
      },
    });
    this.#filesCommitted = new Counter({ name: 'pareco_files_committed_total', help: 'Files written into place (commit, or a small file of a putmany).', registers });
    this.#requests = new Counter({
      name: 'pareco_requests_total',
      help: 'Requests answered, by frame type and outcome (OK or the error code); type "invalid" for frames that could not be read.',
      labelNames: ['type', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'pareco_request_duration_seconds',
      help: 'Time from a file request\'s arrival to its answer, by type.',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Counter({
      name: 'pareco_block_digest_cache_lookups_total',
      help: 'Block digests asked for a differing chunk, found in the cache kept from hashing it (hit) or read again (miss).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, BlockDigestCache.lookups.hits);
        this.inc({ result: 'miss' }, BlockDigestCache.lookups.misses);
      },
    });
    this.#authFailures = new Counter({
      name: 'pareco_auth_failures_total',
      help: 'Requests refused for a missing or wrong token, by endpoint (lane or metrics).',
      labelNames: ['endpoint'],
      registers,
    });
    this.#drainRefusals = new Counter({
      name: 'pareco_drain_refusals_total',
      help: 'Connections and opens refused because the server was draining.',
      registers,
    });
    new Gauge({
      name: 'pareco_draining',
      help: '1 while the server drains (stops taking sessions before it exits), else 0.',
      registers,
      collect() {
        this.set(drain.draining ? 1 : 0);
      },
    });
    // Every label value that is known in advance is shown at 0 from the start, so that rate()
    // and alerts see a series before its first event.
    for (const mode of ['upload', 'download']) this.#sessionsOpened.inc({ mode }, 0);
    for (const direction of ['received', 'sent']) this.#fileBytes.inc({ direction }, 0);
    for (const endpoint of ['lane', 'metrics']) this.#authFailures.inc({ endpoint }, 0);
    for (const type of TIMED) this.#latency.zero({ type });
  }

  request(type: string, code: string, seconds: number, bytes: { received: number; sent: number; committed: number }): void {
    this.#requests.inc({ type, code });
    if (TIMED.has(type)) this.#latency.observe({ type }, seconds);
    if (bytes.received > 0) this.#fileBytes.inc({ direction: 'received' }, bytes.received);
    if (bytes.sent > 0) this.#fileBytes.inc({ direction: 'sent' }, bytes.sent);
    if (bytes.committed > 0) this.#filesCommitted.inc(bytes.committed);
    if (code === 'UNAVAILABLE') this.#drainRefusals.inc();
  }

  sessionOpened(mode: Mode): void {
    this.#sessionsOpened.inc({ mode });
  }

  sessionEnded(mode: Mode, reason: string): void {
    this.#sessionsEnded.inc({ mode, reason });
  }

  laneConnected(socket: Socket): void {
    this.#sockets.add(socket);
  }

  laneDisconnected(socket: Socket): void {
    if (!this.#sockets.delete(socket)) return;
    this.#closedWire.received += socket.bytesRead;
    this.#closedWire.sent += socket.bytesWritten;
  }

  laneJoined(): void {
    this.#lanesJoined.inc();
  }

  authFailed(endpoint: 'lane' | 'metrics'): void {
    this.#authFailures.inc({ endpoint });
  }

  /** An upgrade answered 503 because the server drains. */
  drainRefused(): void {
    this.#drainRefusals.inc();
  }

  /** The text exposition format, and its content type. */
  async exposition(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** Requests whose duration is recorded: the ones that touch file data. */
const TIMED = new Set(['begin', 'read', 'readmany', 'write', 'putmany', 'hash', 'blocks', 'commit']);
