import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { poolReceivedMessages, receiveBufferReleaser, releaseReceiveBuffer, takeReceiveBuffer } from '../../../src/transport/receive-buffers.js';

const KiB = 1024;

test('a buffer given back is lent again; foreign, repeated and stale releases do nothing', () => {
  const first = takeReceiveBuffer(300 * KiB);
  assert.equal(first.length, 300 * KiB);
  const late = receiveBufferReleaser(first);
  releaseReceiveBuffer(first);
  const second = takeReceiveBuffer(260 * KiB); // same size class (512 KiB): the same memory
  assert.equal(second.buffer, first.buffer);
  releaseReceiveBuffer(first); // the first loan, given back again
  late(); // a releaser made during the first loan
  releaseReceiveBuffer(second.subarray(0, 10)); // a slice: not the message
  releaseReceiveBuffer(Buffer.alloc(300 * KiB)); // not ours
  const third = takeReceiveBuffer(300 * KiB);
  assert.notEqual(third.buffer, second.buffer, 'still lent: not handed out twice');
  releaseReceiveBuffer(second);
  releaseReceiveBuffer(third);
});

test('messages that span many socket reads arrive whole and exact in pooled buffers, small ones as before', async () => {
  poolReceivedMessages();
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(server, 'listening');
  const sent = [randomBytes(1024 * KiB + 3), randomBytes(100), randomBytes(3 * 1024 * KiB), randomBytes(1024 * KiB + 3)];
  const received: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        received.push(Buffer.from(data)); // a copy to compare with; the message is given back
        if (received.length === 2) releaseReceiveBuffer(data); // the 100 B one: not ours, ignored
        else if (data.length > 64 * KiB) {
          lent.push(data.buffer as ArrayBuffer);
          releaseReceiveBuffer(data);
        }
        if (received.length === sent.length) resolve();
      });
    });
  });
  const lent: ArrayBuffer[] = [];
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await once(client, 'open');
  for (const message of sent) client.send(message);
  await done;
  client.close();
  server.close();
  assert.deepEqual(received, sent);
  // The first and last messages have the same size class: the second came in the first's memory.
  assert.equal(lent[2], lent[0]);
});
