import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { isErrorCode, type Mode, type Request, type Response } from '../../protocol/index.js';
import type { Drain } from './drain.js';
import type { LiveSessions } from './live-sessions.js';
import type { ServerMetrics } from './metrics.js';

/**
 * What the lane server tells the service side (drain, metrics) about one lane: a request
 * parsed, a response or error about to be sent, and an `open` about to be carried out (which
 * the drain may refuse). From these alone the hooks learn when the lane opens or joins a
 * session, how long each request took and how it ended.
 */
export interface LaneHooks {
  received(request: Request): void;
  answered(response: Response): void;
  /** Throws a ParecoError when no new session may be opened here (the server is draining). */
  admitOpen(): void;
}

interface Pending {
  type: Request['t'];
  started: number;
  /** File data the request carries (write), or each file's (putmany). */
  bytes: number | number[];
  mode?: Mode;
  session?: string;
}

/** Request types label values: the frame types, and this for an answer to no parsed request. */
const UNPARSED = 'invalid';

/** Hooks for one accepted lane. */
export function laneHooks(lane: {
  ws: WebSocket;
  socket: Socket;
  /** The `?route=` key of the upgrade request. */
  route: string | undefined;
  live: LiveSessions;
  drain: Drain;
  metrics: ServerMetrics | undefined;
}): LaneHooks {
  const { live, metrics } = lane;
  const pending = new Map<number, Pending>();
  let session: string | undefined;
  // A lane accepted before the drain began belongs to a sync that started before it: its open,
  // even if it arrives a moment after the SIGTERM, is honoured (the client could not have known).
  const acceptedWhileDraining = lane.drain.draining;
  metrics?.laneConnected(lane.socket);
  lane.ws.once('close', () => {
    if (session !== undefined) live.laneLeft(session);
    metrics?.laneDisconnected(lane.socket);
  });

  const joined = (id: string) => {
    if (session !== undefined || !live.laneJoined(id, lane.route)) return;
    session = id;
    metrics?.laneJoined();
  };

  return {
    received(request) {
      pending.set(request.id, {
        type: request.t,
        started: performance.now(),
        bytes: request.t === 'write' ? request.data.length : request.t === 'putmany' ? request.files.map((file) => file.size) : 0,
        ...(request.t === 'open' ? { mode: request.mode } : {}),
        ...(request.t === 'join' ? { session: request.session } : {}),
      });
    },
    answered(response) {
      const request = pending.get(response.id);
      pending.delete(response.id);
      const ok = response.t !== 'error';
      if (response.t === 'opened' && !response.joined && request?.mode !== undefined) {
        live.opened(response.session, request.mode);
        metrics?.sessionOpened(request.mode);
        joined(response.session);
      } else if (response.t === 'opened') {
        joined(response.session); // the same open as the sync's first lane: a join
      } else if (ok && request?.type === 'join' && request.session !== undefined) {
        joined(request.session);
      }
      if (metrics === undefined) return;
      const code = ok ? 'OK' : isErrorCode(response.code) ? response.code : 'IO';
      const seconds = request === undefined ? 0 : (performance.now() - request.started) / 1000;
      metrics.request(request?.type ?? UNPARSED, code, seconds, outcome(request, response));
    },
    admitOpen() {
      if (acceptedWhileDraining) lane.drain.admitOpen();
    },
  };
}

/** The file bytes a request moved and the files it put in place, from its answer. */
function outcome(request: Pending | undefined, response: Response): { received: number; sent: number; committed: number } {
  if (response.t === 'results' && Array.isArray(request?.bytes)) {
    const sizes = request.bytes;
    const done = response.results.map((result, i) => (result === null ? (sizes[i] ?? 0) : -1)).filter((size) => size >= 0);
    return { received: done.reduce((sum, size) => sum + size, 0), sent: 0, committed: done.length };
  }
  const ok = response.t !== 'error';
  return {
    received: ok && typeof request?.bytes === 'number' ? request.bytes : 0,
    sent: response.t === 'data' || response.t === 'datamany' ? response.data.length : 0,
    committed: ok && request?.type === 'commit' ? 1 : 0,
  };
}
