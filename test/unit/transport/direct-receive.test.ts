import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import { DirectReceiver } from '../../../src/transport/direct-receive.js';

/** What a client should see: messages (binary or text) and pings, in order. */
type Event = { kind: 'message'; binary: boolean; data: Buffer } | { kind: 'ping'; data: Buffer };

/** One server frame: a whole message, a message in fragments, or a ping. */
type Item = { kind: 'binary' | 'text'; size: number } | { kind: 'fragmented'; sizes: number[] } | { kind: 'ping'; size: number };

/** A frame; with `mask`, masked as a client sends it. */
function frameOf(opcode: number, fin: boolean, payload: Buffer, mask?: Buffer): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  if (mask !== undefined) {
    const unmasked = frameOf(opcode, fin, payload);
    const headerBytes = unmasked.length - payload.length;
    const header = unmasked.subarray(0, headerBytes);
    header[1] = header[1]! | 0x80;
    return Buffer.concat([header, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))]);
  }
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([first, payload.length]);
  else if (payload.length < 65536) {
    header = Buffer.from([first, 126, 0, 0]);
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** The wire bytes of `items` and the events a client must report for them. */
function render(items: Item[], masks?: () => Buffer): { wire: Buffer; events: Event[] } {
  const frame = (opcode: number, fin: boolean, payload: Buffer) => frameOf(opcode, fin, payload, masks?.());
  const parts: Buffer[] = [];
  const events: Event[] = [];
  for (const item of items) {
    if (item.kind === 'fragmented') {
      const pieces = item.sizes.map((size) => randomBytes(size));
      pieces.forEach((piece, i) => parts.push(frame(i === 0 ? 2 : 0, i === pieces.length - 1, piece)));
      events.push({ kind: 'message', binary: true, data: Buffer.concat(pieces) });
    } else if (item.kind === 'ping') {
      const data = randomBytes(item.size);
      parts.push(frame(9, true, data));
      events.push({ kind: 'ping', data });
    } else {
      const data = item.kind === 'text' ? Buffer.from('x'.repeat(item.size)) : randomBytes(item.size);
      parts.push(frame(item.kind === 'text' ? 1 : 2, true, data));
      events.push({ kind: 'message', binary: item.kind === 'binary', data });
    }
  }
  return { wire: Buffer.concat(parts), events };
}

/** Per connection: the frames to send, cut where to cut them, and whether they ride with the 101. */
let next: { wire: Buffer; cuts: number[]; withUpgrade: boolean } = { wire: Buffer.alloc(0), cuts: [], withUpgrade: false };
let server: Server;
let port = 0;

/** A bare WebSocket server: answers the upgrade, then writes its frames in pieces, a pause between. */
async function serve(socket: Socket): Promise<void> {
  const { wire, cuts, withUpgrade } = next;
  const request = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (data: Buffer) => {
      text += data.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
  });
  const key = /sec-websocket-key: *(\S+)/i.exec(request)![1]!;
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  const upgrade = Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  let from = 0;
  if (withUpgrade) {
    socket.write(Buffer.concat([upgrade, wire.subarray(0, cuts[0] ?? wire.length)]));
    from = cuts[0] ?? wire.length;
  } else socket.write(upgrade);
  for (const cut of [...cuts.filter((c) => c > from), wire.length]) {
    await sleep(2);
    socket.write(wire.subarray(from, cut));
    from = cut;
  }
}

before(async () => {
  server = createServer((socket) => void serve(socket).catch(() => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

/** Connects through a DirectReceiver and gathers what the client sees, until `count` events. */
async function receive(count: number, maxPayload = 64 * 1024 * 1024): Promise<{ events: Event[]; direct: number }> {
  const receiver = new DirectReceiver('client', maxPayload);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { createConnection: receiver.createConnection as never, autoPong: false });
  ws.once('open', () => receiver.attach(ws));
  const events: Event[] = [];
  ws.on('message', (data: Buffer, binary: boolean) => events.push({ kind: 'message', binary, data: Buffer.from(data) }));
  ws.on('ping', (data: Buffer) => events.push({ kind: 'ping', data: Buffer.from(data) }));
  await new Promise<void>((resolve, reject) => {
    const check = () => events.length >= count && resolve();
    ws.on('message', check);
    ws.on('ping', check);
    ws.on('error', reject);
    ws.on('close', () => reject(new Error(`closed after ${events.length} of ${count} events`)));
    if (count === 0) resolve();
  });
  ws.terminate();
  return { events, direct: receiver.readDirectly };
}

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ kind: fc.constant('binary' as const), size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 100_000, max: 400_000 })) }),
  fc.record({ kind: fc.constant('text' as const), size: fc.integer({ min: 0, max: 70_000 }) }),
  fc.record({ kind: fc.constant('fragmented' as const), sizes: fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 2, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('ping' as const), size: fc.integer({ min: 0, max: 125 }) }),
);

test('DirectReceiver: every message and ping arrives whole and in order, however the stream is cut', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 8 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), fc.boolean(), async (items, fractions, withUpgrade) => {
      const { wire, events } = render(items);
      const cuts = [...new Set(fractions.map((f) => Math.floor(f * wire.length)))].filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b);
      next = { wire, cuts, withUpgrade };
      const got = await receive(events.length);
      assert.equal(got.events.length, events.length);
      got.events.forEach((event, i) => {
        const want = events[i]!;
        assert.equal(event.kind, want.kind, `event ${i}`);
        if (event.kind === 'message' && want.kind === 'message') assert.equal(event.binary, want.binary, `event ${i}`);
        assert.ok(event.data.equals(want.data), `event ${i}: ${event.data.length} bytes, wanted ${want.data.length}`);
      });
    }),
    { numRuns: 40 },
  );
});

test('DirectReceiver: big binary messages are read straight into pooled buffers', async () => {
  const { wire, events } = render([{ kind: 'binary', size: 1 << 20 }, { kind: 'ping', size: 4 }, { kind: 'binary', size: 300_000 }]);
  next = { wire, cuts: [1000, 70_000, 600_000], withUpgrade: false };
  const got = await receive(events.length);
  assert.equal(got.direct, 2);
  assert.ok(got.events[0]!.data.equals(events[0]!.data));
  assert.ok(got.events[2]!.data.equals(events[2]!.data));
});

test('DirectReceiver: frame bytes that came with the upgrade leave the connection to ws', async () => {
  const { wire, events } = render([{ kind: 'binary', size: 500_000 }, { kind: 'binary', size: 500_000 }]);
  next = { wire, cuts: [3], withUpgrade: true };
  const got = await receive(events.length);
  assert.equal(got.direct, 0);
  got.events.forEach((event, i) => assert.ok(event.data.equals(events[i]!.data)));
});

test('DirectReceiver: a message over the limit is refused by ws as before (1009)', async () => {
  const { wire } = render([{ kind: 'binary', size: 300_000 }]);
  next = { wire, cuts: [], withUpgrade: false };
  const receiver = new DirectReceiver('client', 200_000);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { createConnection: receiver.createConnection as never, maxPayload: 200_000 });
  ws.once('open', () => receiver.attach(ws));
  const messages: Buffer[] = [];
  ws.on('message', (data: Buffer) => messages.push(data));
  const error = await new Promise<Error & { code?: string }>((resolve) => ws.once('error', resolve));
  assert.equal(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  assert.equal(messages.length, 0);
});

test('DirectReceiver: a server reads zero-masked frames directly, other masks through ws, all in order', async () => {
  const http = createHttpServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const received: { events: Event[]; adopted: boolean[]; receivers: DirectReceiver[] } = { events: [], adopted: [], receivers: [] };
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      const receiver = new DirectReceiver('server', 64 * 1024 * 1024);
      received.adopted.push(receiver.adopt(socket, ws));
      received.receivers.push(receiver);
      ws.on('message', (data: Buffer, binary: boolean) => received.events.push({ kind: 'message', binary, data: Buffer.from(data) }));
      ws.on('ping', (data: Buffer) => received.events.push({ kind: 'ping', data: Buffer.from(data) }));
    }),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const httpPort = (http.address() as { port: number }).port;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 6 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), fc.boolean(), async (items, fractions, zeroMask) => {
        received.events = [];
        const { wire, events } = render(items, () => (zeroMask ? Buffer.alloc(4) : randomBytes(4)));
        const socket = connect(httpPort, '127.0.0.1');
        socket.setNoDelay(true);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
        await new Promise<void>((resolve) => socket.once('data', () => resolve()));
        const cuts = [...new Set(fractions.map((f) => Math.floor(f * wire.length)))].filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b);
        let from = 0;
        for (const cut of [...cuts, wire.length]) {
          socket.write(wire.subarray(from, cut));
          from = cut;
          await sleep(2);
        }
        while (received.events.length < events.length) await sleep(2);
        socket.destroy();
        assert.equal(received.events.length, events.length);
        received.events.forEach((event, i) => assert.ok(event.data.equals(events[i]!.data), `event ${i}`));
      }),
      // The first run is fixed: a big zero-masked message must be read directly.
      { numRuns: 25, examples: [[[{ kind: 'binary', size: 1 << 20 }], [0.3], true]] },
    );
    assert.ok(received.adopted.every(Boolean), 'every upgraded socket was adopted');
    assert.ok(received.receivers.some((receiver) => receiver.readDirectly > 0), 'zero-masked big messages were read directly');
  } finally {
    http.close();
  }
});
