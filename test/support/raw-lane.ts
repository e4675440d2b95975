import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';

const packr = new Packr({ useRecords: false });

/**
 * A bare WebSocket speaking msgpack frames, without any of Pareco's client code: for tests
 * that open sessions by hand or send what a well-behaved client never would.
 */
export class RawLane {
  readonly ws: WebSocket;
  readonly #queue: unknown[] = [];
  readonly #waiters: ((value: unknown) => void)[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    let awaitingPayload: Record<string, unknown> | undefined;
    ws.on('message', (data) => {
      // A frame with `len` is followed by its payload, raw bytes: handed out together, as `data`.
      if (awaitingPayload !== undefined) {
        awaitingPayload.data = data;
        data = Buffer.alloc(0);
      }
      let value: unknown;
      if (awaitingPayload !== undefined) {
        value = awaitingPayload;
        awaitingPayload = undefined;
      } else {
        try {
          value = packr.unpack(data as Buffer);
        } catch {
          value = data;
        }
        if (typeof (value as { len?: unknown })?.len === 'number') {
          awaitingPayload = value as Record<string, unknown>;
          return;
        }
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter(value);
      else this.#queue.push(value);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, token?: string): Promise<RawLane> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      ws.once('open', () => resolve(new RawLane(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(frame: unknown): void {
    this.ws.send(Buffer.isBuffer(frame) ? frame : packr.pack(frame));
  }

  /** The next frame received (or rejects after `ms`). */
  next(ms = 5000): Promise<Record<string, unknown>> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift() as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame received')), ms);
      this.#waiters.push((value) => {
        clearTimeout(timer);
        resolve(value as Record<string, unknown>);
      });
    });
  }

  async request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(frame);
    return this.next();
  }

  /** Closes the lane; resolves once the close handshake is done on this side. */
  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** An open request with sensible defaults. */
export function openFrame(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { t: 'open', id: 1, v: PROTOCOL_VERSION, mode: 'upload', dir, chunk: 1024 * 1024, block: 8192, hash: 'xxh64', include: [], exclude: [], inplace: false, ...overrides };
}
