import { connect, Socket, type NetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { POOLED_FROM, takeReceiveBuffer } from './receive-buffers.js';

/**
 * What sockets read into between big payloads (frame headers and small messages). One for all:
 * a read is taken out of it (copied on or passed along) before the next read of any socket.
 */
const staging = Buffer.allocUnsafeSlow(64 * 1024);
/** Off with PARECO_DIRECT_RECEIVE=0: every lane is read through `ws` (to compare). */
export const DIRECT_RECEIVE = process.env.PARECO_DIRECT_RECEIVE !== '0';

/** The longest frame header: 2 bytes, a 64-bit length, a mask. */
const MAX_HEADER = 14;

/**
 * Reads a plain (ws://, no TLS) lane's socket straight into the buffers its big messages are
 * used in: on the client, chunks downloaded; on the server, chunks uploaded.
 *
 * A chunk's payload arrives as one binary WebSocket frame of ~1 MiB. Read the usual way, the
 * kernel copies it into 64 KiB buffers Node allocates for every read, and `ws` copies those
 * into the message. Here the socket is opened with Node's `onread`: frame headers and small
 * frames are read into one reused staging buffer, and once a big binary frame's header is seen,
 * the reads go straight into a pooled buffer of the frame's size (see receive-buffers.ts) —
 * one copy fewer, nothing to collect. The complete message is handed to the lane as `ws` would
 * hand it ('message'). A 1 GiB download, 10 pairs: 0.55 × the time, 0.45 × the client's CPU.
 *
 * A client opens its socket so (`createConnection`). A server's socket comes from the HTTP
 * server, already open: `adopt` switches its reads over, through the same fields of Node's
 * socket that `onread` sets (Node 20 and 24 alike); where they are not found it does nothing.
 * A client masks what it sends; Pareco's client sends a zero mask, which changes nothing, and
 * only such frames are read directly (others need unmasking: `ws` does that).
 *
 * Everything else — the HTTP upgrade, small frames, control frames (pings, close), fragmented
 * messages, anything unusual or invalid — is passed to `ws` unchanged, in order, and `ws` deals
 * with it as always. The wire is plain RFC 6455 either way: only how this end reads it changes.
 */
export class DirectReceiver {
  readonly #maxPayload: number;
  /** A server reads masked frames (from clients), a client unmasked ones. */
  readonly #masked: boolean;
  #socket: Socket | undefined;
  /** Set once the WebSocket is open and the stream is known to be at a frame boundary. */
  #ws: WebSocket | undefined;
  /** Everything goes to `ws`: the upgrade's answer came with frame bytes. */
  #passThrough = false;
  /** The big payload being read, and how much of it has arrived. */
  #payload: Buffer | undefined;
  #filled = 0;
  /** A frame header split across reads. */
  readonly #header = Buffer.alloc(MAX_HEADER);
  #headerBytes = 0;
  /** Bytes of the current frame still to pass to `ws`. */
  #passLeft = 0;
  /** A fragmented message is under way: its frames all go to `ws`. */
  #fragmented = false;
  /** Bytes read and not yet passed to `ws`, as runs of the staging buffer. */
  #toPass: Buffer[] = [];
  #readDirectly = 0;

  constructor(side: 'client' | 'server', maxPayload: number) {
    this.#masked = side === 'server';
    this.#maxPayload = maxPayload;
  }

  /** Messages read straight into their buffer so far. */
  get readDirectly(): number {
    return this.#readDirectly;
  }

  /** For `ws`'s `createConnection`: a TCP connection whose reads come here. */
  readonly createConnection = (options: NetConnectOpts): Socket => {
    const socket = connect({
      ...options,
      onread: { buffer: () => this.#nextBuffer(), callback: (bytes: number, buffer: Uint8Array) => this.#onRead(bytes, buffer) },
    });
    this.#socket = socket;
    return socket;
  };

  /**
   * Server side: reads the upgraded `socket` of `ws` from here on. Called as soon as `ws` is
   * made (handleUpgrade's callback), before anything more is read. False: left as it was.
   */
  adopt(socket: Duplex, ws: WebSocket): boolean {
    if (!(socket instanceof Socket) || socket.readableLength > 0) return false;
    if (!readIntoOwnBuffers(socket, () => this.#nextBuffer(), (bytes, buffer) => this.#onRead(bytes, buffer))) return false;
    this.#socket = socket;
    this.#ws = ws;
    return true;
  }

  /** Client side: called on the WebSocket's 'open'; from here on, frames are read here. */
  attach(ws: WebSocket): void {
    // Bytes that came after the upgrade's answer, in its read, went to `ws` already: where the
    // next frame starts is then unknown here, so this connection is read the usual way.
    if (this.#socket === undefined || this.#socket.readableLength > 0) this.#passThrough = true;
    else this.#ws = ws;
  }

  #nextBuffer(): Uint8Array {
    return this.#payload === undefined ? staging : this.#payload.subarray(this.#filled);
  }

  /** `buffer` is the one the read went into: the payload's rest, or the staging buffer. */
  #onRead(bytes: number, buffer: Uint8Array): boolean {
    if (buffer !== staging) {
      this.#filled += bytes;
      if (this.#filled === this.#payload!.length) this.#deliver();
      return true;
    }
    const data = staging.subarray(0, bytes);
    if (this.#ws === undefined || this.#passThrough) this.#socket!.emit('data', Buffer.from(data));
    else this.#parse(data);
    return true;
  }

  /** Walks the frames in `data` (a read into the staging buffer). */
  #parse(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.#passLeft > 0) {
        const take = Math.min(this.#passLeft, data.length - at);
        this.#toPass.push(data.subarray(at, at + take));
        this.#passLeft -= take;
        at += take;
      } else if (this.#payload !== undefined) {
        const take = Math.min(this.#payload.length - this.#filled, data.length - at);
        data.copy(this.#payload, this.#filled, at, at + take);
        this.#filled += take;
        at += take;
        if (this.#filled === this.#payload.length) this.#deliver();
      } else {
        at = this.#readHeader(data, at);
      }
    }
    this.#pass();
  }

  /** Takes header bytes from `data` at `at`; once the header is whole, decides where the frame goes. */
  #readHeader(data: Buffer, at: number): number {
    const want = this.#headerBytes < 2 ? 2 : headerLength(this.#header);
    const take = Math.min(want - this.#headerBytes, data.length - at);
    data.copy(this.#header, this.#headerBytes, at, at + take);
    this.#headerBytes += take;
    if (this.#headerBytes < 2 || this.#headerBytes < headerLength(this.#header)) return at + take;
    const header = this.#header.subarray(0, this.#headerBytes);
    this.#headerBytes = 0;
    const length = payloadLength(header);
    if (this.#isDirect(header, length)) {
      this.#pass(); // what came before goes first
      this.#payload = takeReceiveBuffer(length);
      this.#filled = 0;
    } else {
      const fin = (header[0]! & 0x80) !== 0;
      const opcode = header[0]! & 0x0f;
      if (opcode < 8) this.#fragmented = !fin; // a data frame; control frames may come between fragments
      this.#toPass.push(Buffer.from(header));
      this.#passLeft = length;
    }
    return at + take;
  }

  /** A final, unmasked, uncompressed binary frame, big, within the limit, outside a fragmented message. */
  #isDirect(header: Buffer, length: number): boolean {
    const first = header[0]!;
    const final = (first & 0x80) !== 0;
    const reserved = first & 0x70;
    const binary = (first & 0x0f) === 2;
    const masked = (header[1]! & 0x80) !== 0;
    const plain = this.#masked ? masked && header.readUInt32BE(header.length - 4) === 0 : !masked;
    return final && reserved === 0 && binary && plain && !this.#fragmented && length >= POOLED_FROM && length <= this.#maxPayload && this.#ws?.readyState === WebSocket.OPEN;
  }

  #deliver(): void {
    const message = this.#payload!;
    this.#payload = undefined;
    this.#filled = 0;
    this.#readDirectly++;
    if (this.#ws!.readyState === WebSocket.OPEN) this.#ws!.emit('message', message, true);
  }

  /** Hands the bytes gathered for `ws` to it, as one read of the socket. */
  #pass(): void {
    if (this.#toPass.length === 0) return;
    const bytes = Buffer.concat(this.#toPass);
    this.#toPass = [];
    this.#socket!.emit('data', bytes);
  }
}

/** A frame header's length, from its first two bytes. */
function headerLength(header: Buffer): number {
  const length7 = header[1]! & 0x7f;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  return 2 + extended + ((header[1]! & 0x80) !== 0 ? 4 : 0);
}

/** The payload length a whole header gives (a 64-bit length beyond 2^53 reads as Infinity: not direct). */
function payloadLength(header: Buffer): number {
  const length7 = header[1]! & 0x7f;
  if (length7 === 126) return header.readUInt16BE(2);
  if (length7 === 127) {
    const high = header.readUInt32BE(2);
    return high >= 2 ** 21 ? Infinity : high * 2 ** 32 + header.readUInt32BE(6);
  }
  return length7;
}

/** The socket fields Node's `onread` option sets (lib/net.js), found by their names. */
const ONREAD_FIELDS = ['kBuffer', 'kBufferGen', 'kBufferCb'] as const;

/**
 * Makes an open socket read into the buffers `next` gives and report to `onRead`, as `onread`
 * does for a socket opened with it. False (nothing changed) where Node's fields are not there.
 */
function readIntoOwnBuffers(socket: Socket, next: () => Uint8Array, onRead: (bytes: number, buffer: Uint8Array) => boolean): boolean {
  const symbols = Object.getOwnPropertySymbols(socket);
  const [buffer, generator, callback] = ONREAD_FIELDS.map((name) => symbols.find((symbol) => symbol.description === name));
  const fields = socket as unknown as Record<symbol, unknown>;
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } })._handle;
  if (buffer === undefined || generator === undefined || callback === undefined || fields[buffer] !== null || typeof handle?.useUserBuffer !== 'function') return false;
  const first = next();
  fields[buffer] = first;
  fields[generator] = next;
  fields[callback] = onRead;
  handle.useUserBuffer(first);
  return true;
}
