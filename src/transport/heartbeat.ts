import type { WebSocket } from 'ws';

export interface HeartbeatOptions {
  /** Milliseconds between pings. */
  interval: number;
  /** Milliseconds without any pong (or message) after which the connection is dead. */
  timeout: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { interval: 15_000, timeout: 60_000 };

/**
 * Pings on a timer and terminates the socket when the peer has been silent for `timeout`.
 * Both sides run it, so a proxy between them (nginx closes after 60 s without data from the
 * upstream) always sees traffic in both directions, even during a one-way transfer.
 * Returns a function that stops it; `onAlive` is told each time the peer shows life.
 */
export function startHeartbeat(ws: WebSocket, options: HeartbeatOptions, onAlive?: () => void): () => void {
  let lastSeen = Date.now();
  const alive = () => {
    lastSeen = Date.now();
    onAlive?.();
  };
  ws.on('pong', alive);
  ws.on('message', alive);
  const timer = setInterval(() => {
    if (Date.now() - lastSeen > options.timeout) {
      ws.terminate();
      return;
    }
    if (ws.readyState === ws.OPEN) ws.ping();
  }, Math.min(options.interval, options.timeout));
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    ws.off('pong', alive);
    ws.off('message', alive);
  };
  ws.once('close', stop);
  return stop;
}
