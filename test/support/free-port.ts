import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for programs (nginx, squid) that cannot
 * report the port they picked. Another process may grab it before they bind: see withFreePort.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Calls `start` with `count` free ports, again with fresh ones if a port was taken meanwhile. */
export async function withFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await start(ports);
    } catch (error) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE|bind\(\)|Cannot bind/i.test(String(error))) throw error;
    }
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs` or when `gaveUp()` says so. */
export async function waitForPort(port: number, options: { timeoutMs?: number; gaveUp?: () => Error | undefined } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const given = options.gaveUp?.();
    if (given) throw given;
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on 127.0.0.1:${port} after ${options.timeoutMs ?? 10_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
