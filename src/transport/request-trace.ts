import { appendFileSync } from 'node:fs';
import { format } from 'node:util';

/**
 * A timeline of the requests of every lane, for finding where a sync waits: with
 * PARECO_TRACE=FILE, one line per answered request — when it was sent and answered (ms since
 * the process started), the lane, the request type, its payload bytes and how long it took.
 * Off (and free) otherwise.
 */
export const requestTrace = process.env.PARECO_TRACE ? traceTo(process.env.PARECO_TRACE) : undefined;

export type RequestTrace = (lane: number, type: string, bytes: number, sentAt: number) => void;

function traceTo(file: string): RequestTrace {
  const lines: string[] = [];
  const flush = () => {
    if (lines.length > 0) appendFileSync(file, lines.splice(0).join(''));
  };
  setInterval(flush, 200).unref();
  process.once('exit', flush);
  return (lane, type, bytes, sentAt) => {
    const now = performance.now();
    lines.push(format('%s %s lane %d %s %d bytes %s ms\n', sentAt.toFixed(1).padStart(8), now.toFixed(1).padStart(8), lane, type.padEnd(8), bytes, (now - sentAt).toFixed(1)));
  };
}
