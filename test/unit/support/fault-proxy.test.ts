import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FaultProxy } from '../../support/fault-proxy.js';

/** A loopback echo server; close() destroys its sockets so the test process can exit. */
async function startEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client socket that collects what it receives and records its close. */
interface Client {
  socket: net.Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
  /** Writes `text` and waits until it has come back (everything received since is cleared first). */
  echo(text: string, ms?: number): Promise<void>;
}

const clients: net.Socket[] = [];

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    clients.push(socket);
    let chunks: Buffer[] = [];
    let closed = false;
    const closedPromise = new Promise<void>((res) => socket.once('close', () => ((closed = true), res())));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // ECONNRESET from a cut is expected.
    socket.on('error', () => {});
    const received = (): Buffer => Buffer.concat(chunks);
    const client: Client = {
      socket,
      received,
      closed: closedPromise,
      isClosed: () => closed,
      async echo(text, ms = 1000) {
        chunks = [];
        socket.write(text);
        const deadline = Date.now() + ms;
        while (received().toString() !== text) {
          if (closed) throw new Error(`closed before ${JSON.stringify(text)} came back`);
          if (Date.now() > deadline) throw new Error(`no echo of ${JSON.stringify(text)} within ${ms} ms`);
          await sleep(2);
        }
      },
    };
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Resolves when `promise` does; rejects after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `condition()` holds (polling), or fails after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(2);
  }
}

describe('FaultProxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const proxies: FaultProxy[] = [];

  async function proxy(): Promise<FaultProxy> {
    const p = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port } });
    proxies.push(p);
    return p;
  }

  before(async () => {
    echo = await startEcho();
  });

  after(async () => {
    for (const socket of clients) socket.destroy();
    // Bounded, so a broken close() fails the hook instead of hanging the run.
    await Promise.all(proxies.map((p) => within(p.close(), 2000, 'proxy close')));
    await echo.close();
  });

  test('forwards data both ways and counts the bytes', async () => {
    const p = await proxy();
    assert.equal(p.url, `http://127.0.0.1:${p.port}`);
    assert.deepEqual([p.acceptedCount, p.bytesUp, p.bytesDown], [0, 0, 0]);
    const c = await connect(p.port);
    await c.echo('hello');
    assert.equal(p.acceptedCount, 1);
    assert.equal(p.connectionCount, 1);
    assert.equal(p.bytesUp, 5);
    assert.equal(p.bytesDown, 5);

    // A payload well past the socket buffers, to go through backpressure.
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    const before = c.received().length;
    c.socket.write(big);
    await until(() => c.received().length - before >= big.length, 1500, 'big echo');
    assert.equal(p.bytesUp, 5 + big.length);
    assert.equal(p.bytesDown, 5 + big.length);

    c.socket.end();
    await within(c.closed, 1000, 'client close');
    await until(() => p.connectionCount === 0, 1000, 'connection forgotten');
  });

  test('cutOne closes exactly one connection; the other still echoes', async () => {
    const p = await proxy();
    assert.equal(p.cutOne(), false, 'nothing to cut');
    const a = await connect(p.port);
    const b = await connect(p.port);
    await a.echo('a');
    await b.echo('b');
    assert.equal(p.connectionCount, 2);
    assert.equal(p.cutOne(2), false, 'index out of range');
    assert.equal(p.cutOne(-1), false, 'negative index');

    assert.equal(p.cutOne(), true);
    assert.equal(p.connectionCount, 1);
    await within(Promise.race([a.closed, b.closed]), 1000, 'one closes');
    const [gone, kept] = a.isClosed() ? [a, b] : [b, a];
    await kept.echo('still here');
    assert.equal(gone.isClosed(), true);
    assert.equal(kept.isClosed(), false);

    // With an index: the only one left is index 0.
    assert.equal(p.cutOne(0), true);
    await within(kept.closed, 1000, 'second close');
    assert.equal(p.connectionCount, 0);
  });

  test('cutAll closes every connection', async () => {
    const p = await proxy();
    const cs = await Promise.all([connect(p.port), connect(p.port), connect(p.port)]);
    for (const [i, c] of cs.entries()) await c.echo(`c${i}`);
    assert.equal(p.connectionCount, 3);
    p.cutAll();
    assert.equal(p.connectionCount, 0);
    await within(Promise.all(cs.map((c) => c.closed)), 1000, 'all close');
    // The proxy itself still works.
    const d = await connect(p.port);
    await d.echo('after');
  });

  test('refuse(true) closes new connections at once; refuse(false) restores', async () => {
    const p = await proxy();
    const old = await connect(p.port);
    await old.echo('before');
    p.refuse(true);
    // The RST may even beat the client's own 'connect': either way the socket just closes.
    const refused = net.connect({ host: '127.0.0.1', port: p.port });
    clients.push(refused);
    let got = 0;
    refused.on('data', (chunk: Buffer) => (got += chunk.length));
    refused.on('error', () => {});
    refused.write('anyone?');
    await within(new Promise((resolve) => refused.once('close', resolve)), 1000, 'refused close');
    assert.equal(got, 0);
    assert.equal(p.acceptedCount, 2);
    assert.equal(p.connectionCount, 1);
    await old.echo('existing connections are untouched');

    p.refuse(false);
    const again = await connect(p.port);
    await again.echo('back');
  });

  test('stall() stops forwarding until resume() delivers the buffered data', async () => {
    const p = await proxy();
    const a = await connect(p.port);
    await a.echo('warm');
    p.stall();
    const b = await connect(p.port); // a connection opened during the stall is stalled too
    a.socket.write('ping-a');
    b.socket.write('ping-b');
    await sleep(200);
    assert.equal(a.received().toString(), 'warm');
    assert.equal(b.received().length, 0);
    assert.equal(a.isClosed() || b.isClosed(), false, 'sockets stay open');

    p.resume();
    await until(() => a.received().toString() === 'warmping-a' && b.received().toString() === 'ping-b', 1000, 'resumed echo');
    await a.echo('flowing again');
  });

  test('cutEvery cuts connections over time until stopped', async () => {
    const p = await proxy();
    const cs = await Promise.all([connect(p.port), connect(p.port), connect(p.port)]);
    for (const [i, c] of cs.entries()) await c.echo(`c${i}`);
    const stop = p.cutEvery(20);
    await within(Promise.all(cs.map((c) => c.closed)), 1000, 'all cut');
    stop();
    const survivor = await connect(p.port);
    await survivor.echo('1');
    await sleep(100);
    await survivor.echo('2');
    assert.equal(survivor.isClosed(), false);
    assert.equal(p.connectionCount, 1);
  });

  test('an unreachable target closes the client', async () => {
    const dead = net.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const p = await FaultProxy.start({ target: { host: '127.0.0.1', port } });
    proxies.push(p);
    const c = await connect(p.port);
    await within(c.closed, 1000, 'client close');
    await until(() => p.connectionCount === 0, 1000, 'connection forgotten');
  });

  test('a client resetting its connection does not crash anything', async () => {
    const p = await proxy();
    const c = await connect(p.port);
    await c.echo('x');
    c.socket.write(Buffer.alloc(256 * 1024));
    c.socket.resetAndDestroy();
    await until(() => p.connectionCount === 0, 1000, 'connection forgotten');
    const d = await connect(p.port);
    await d.echo('fine');
  });

  test('close() destroys connections and stops listening', async () => {
    const p = await proxy();
    const cs = await Promise.all([connect(p.port), connect(p.port)]);
    await cs[0]!.echo('x');
    p.stall();
    p.cutEvery(10_000);
    await within(p.close(), 1000, 'close');
    await within(Promise.all(cs.map((c) => c.closed)), 1000, 'clients close');
    assert.equal(p.connectionCount, 0);
    await assert.rejects(connect(p.port), { code: 'ECONNREFUSED' });
    await p.close(); // idempotent
  });

  test('close() leaves no handles: a process using the proxy exits on its own', async () => {
    const module = fileURLToPath(new URL('../../support/fault-proxy.js', import.meta.url));
    const script = `
      import net from 'node:net';
      import { FaultProxy } from ${JSON.stringify(module)};
      const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.address().port } });
      const c = net.connect(proxy.port, '127.0.0.1');
      c.on('error', () => {});
      c.write('hi');
      await new Promise((r) => c.once('data', r));
      proxy.cutEvery(5);
      proxy.stall();
      await proxy.close();
      server.close();
      await new Promise((r) => c.once('close', r));
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify(process.getActiveResourcesInfo()));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill(), 5000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `child did not exit on its own (code ${code}); stderr: ${err}`);
    const resources = JSON.parse(out.trim()) as string[];
    assert.deepEqual(
      resources.filter((r) => /TCP|Timeout|Immediate/.test(r)),
      [],
      `active resources after close: ${out}`,
    );
  });
});
