import net from 'node:net';

/** Where a FaultProxy forwards its connections to. */
export interface FaultProxyOptions {
  /** The real server behind the proxy: every accepted connection opens one to it. */
  target: { host: string; port: number };
}

/**
 * Kills a socket at once; with a RST where Node supports it (so the peer sees ECONNRESET,
 * like a dropped link), else with a plain destroy(). A socket still connecting has no
 * connection to reset (resetAndDestroy would only wait for it), so it is destroyed.
 */
function kill(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (!socket.connecting && typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle, or already going away: fall through to a plain destroy().
    }
  }
  socket.destroy();
}

/** One direction of a proxied connection: reads `src`, writes `dst`, with backpressure and stalling. */
class Direction {
  /** Chunks read while stalled, written on resume(). */
  readonly #pending: Buffer[] = [];
  /** `dst` refused the last write (its buffer is full): `src` stays paused until 'drain'. */
  #blocked = false;
  /** `src` sent its FIN; `dst` is ended once nothing is pending. */
  #ended = false;
  #stalled = false;

  constructor(
    readonly src: net.Socket,
    readonly dst: net.Socket,
    readonly count: (bytes: number) => void,
    stalled: boolean,
  ) {
    this.#stalled = stalled;
    src.on('data', (chunk: Buffer) => {
      if (this.#stalled) {
        this.#pending.push(chunk);
        src.pause();
      } else {
        this.#write(chunk);
      }
    });
    src.on('end', () => {
      this.#ended = true;
      if (!this.#stalled) this.#finish();
    });
    dst.on('drain', () => {
      this.#blocked = false;
      if (!this.#stalled) src.resume();
    });
    // Attaching 'data' schedules flowing mode; pausing in the same tick keeps a connection
    // accepted during a stall from forwarding anything.
    if (stalled) src.pause();
  }

  stall(): void {
    this.#stalled = true;
    this.src.pause();
  }

  resume(): void {
    if (!this.#stalled) return;
    this.#stalled = false;
    for (const chunk of this.#pending.splice(0)) this.#write(chunk);
    if (this.#ended) this.#finish();
    else if (!this.#blocked) this.src.resume();
  }

  #write(chunk: Buffer): void {
    if (this.dst.destroyed || this.dst.writableEnded) return;
    this.count(chunk.length);
    if (!this.dst.write(chunk)) {
      this.#blocked = true;
      this.src.pause();
    }
  }

  #finish(): void {
    if (!this.dst.destroyed && !this.dst.writableEnded) this.dst.end();
  }
}

/** A client connection and the upstream connection it is forwarded over. */
class Link {
  readonly up: Direction;
  readonly down: Direction;
  #closedSides = 0;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    proxy: { stalled: boolean; countUp(n: number): void; countDown(n: number): void; forget(link: Link): void },
  ) {
    this.up = new Direction(client, upstream, (n) => proxy.countUp(n), proxy.stalled);
    this.down = new Direction(upstream, client, (n) => proxy.countDown(n), proxy.stalled);
    const onClose = (other: net.Socket) => (hadError: boolean) => {
      // A side that failed takes the other down hard; one that closed cleanly (both FINs
      // exchanged) lets the other finish flushing.
      if (hadError) kill(other);
      else if (!other.destroyed && !other.writableEnded) other.end();
      if (++this.#closedSides === 2) proxy.forget(this);
    };
    client.on('close', onClose(upstream));
    upstream.on('close', onClose(client));
  }

  stall(): void {
    this.up.stall();
    this.down.stall();
  }

  resume(): void {
    this.up.resume();
    this.down.resume();
  }

  /** Both sockets die now (RST where possible). */
  cut(): void {
    kill(this.client);
    kill(this.upstream);
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, for tests that need the network to fail
 * on cue: cut connections (one, all, or periodically), refuse new ones, or stall traffic.
 */
export class FaultProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  /** Open links in accept order, so cutOne(index) is predictable. */
  readonly #links = new Set<Link>();
  /** Intervals started by cutEvery(), cleared by their stop function or close(). */
  readonly #timers = new Set<NodeJS.Timeout>();
  #accepted = 0;
  #bytesUp = 0;
  #bytesDown = 0;
  #refusing = false;
  #stalled = false;
  #closing: Promise<void> | undefined;

  private constructor(server: net.Server, port: number, target: { host: string; port: number }) {
    this.#server = server;
    this.port = port;
    this.#target = { ...target };
    server.on('connection', (client) => this.#accept(client));
  }

  /** Starts a proxy to `options.target`, listening on a free port of 127.0.0.1. */
  static start(options: FaultProxyOptions): Promise<FaultProxy> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: a client's FIN is forwarded, not turned into an early close of the reply.
      const server = net.createServer({ allowHalfOpen: true });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        // Late server errors (e.g. EMFILE on accept) must not crash the test process.
        server.on('error', () => {});
        resolve(new FaultProxy(server, (server.address() as net.AddressInfo).port, options.target));
      });
    });
  }

  /** http URL of the proxy, e.g. http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Number of client connections currently open through the proxy. */
  get connectionCount(): number {
    return this.#links.size;
  }

  /** Total connections accepted since start (including ones refused while refuse(true) was on). */
  get acceptedCount(): number {
    return this.#accepted;
  }

  /** Bytes forwarded client→server since start. */
  get bytesUp(): number {
    return this.#bytesUp;
  }

  /** Bytes forwarded server→client since start. */
  get bytesDown(): number {
    return this.#bytesDown;
  }

  /** Destroys one open connection (both sockets), chosen at random unless an index is given; returns whether one was cut. */
  cutOne(index?: number): boolean {
    const links = [...this.#links];
    if (links.length === 0) return false;
    const i = index ?? Math.floor(Math.random() * links.length);
    const link = links[i];
    if (!Number.isInteger(i) || link === undefined) return false;
    this.#cut(link);
    return true;
  }

  /** Destroys every open connection. */
  cutAll(): void {
    for (const link of [...this.#links]) this.#cut(link);
  }

  /** While refusing, new connections are accepted and immediately destroyed (simulates an outage). */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Stops forwarding data in both directions on all current and new connections (sockets stay open) until resume(). */
  stall(): void {
    this.#stalled = true;
    for (const link of this.#links) link.stall();
  }

  /** Ends a stall(): data read meanwhile is delivered, then forwarding goes on. */
  resume(): void {
    this.#stalled = false;
    for (const link of this.#links) link.resume();
  }

  /** Schedules: every `everyMs`, cut one random connection, until the returned function is called. */
  cutEvery(everyMs: number): () => void {
    const timer = setInterval(() => this.cutOne(), everyMs);
    // Never keeps the test process alive by itself.
    timer.unref();
    this.#timers.add(timer);
    return () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    };
  }

  /** Stops listening and destroys everything (connections, cutEvery timers); resolves once the listener is closed. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearInterval(timer);
      this.#timers.clear();
      // close() first so no connection slips in between, then kill what is open.
      this.#server.close(() => resolve());
      this.cutAll();
    });
    return this.#closing;
  }

  #cut(link: Link): void {
    // Forgotten at once, so connectionCount drops synchronously with the cut.
    this.#links.delete(link);
    link.cut();
  }

  #accept(client: net.Socket): void {
    this.#accepted++;
    client.on('error', () => {});
    if (this.#refusing || this.#closing) {
      kill(client);
      return;
    }
    const upstream = net.connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    upstream.on('error', () => {});
    upstream.once('connect', () => upstream.setNoDelay(true));
    client.setNoDelay(true);
    const proxy = {
      stalled: this.#stalled,
      countUp: (n: number) => void (this.#bytesUp += n),
      countDown: (n: number) => void (this.#bytesDown += n),
      forget: (l: Link) => void this.#links.delete(l),
    };
    const link = new Link(client, upstream, proxy);
    this.#links.add(link);
    // The upstream connect failing (or the upstream failing later) closes it with an error,
    // which Link turns into destroying the client.
  }
}
