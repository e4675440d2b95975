import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Checks the upgrade request's `Authorization: Bearer` header against the token. Both sides are
 * hashed first so the comparison takes the same time whatever the lengths.
 * With no token configured every request passes.
 */
export function isAuthorized(request: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = request.headers.authorization;
  if (typeof header !== 'string') return false;
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** Most addresses remembered; the oldest is forgotten first. */
const MAX_TRACKED = 10_000;
/** A failure older than this no longer counts. */
const FORGET_AFTER = 60_000;
const MAX_DELAY = 5_000;

/**
 * Failed authentications per client address, for a simple backoff: the n-th failure in a row is
 * answered after 50 ms × 2^(n-1), at most 5 s. A success, or a minute without failure, resets it.
 */
export class AuthFailures {
  readonly #byAddress = new Map<string, { count: number; last: number }>();

  /** Records a failure and returns how long to wait before answering it. */
  fail(address: string): number {
    const now = Date.now();
    const previous = this.#byAddress.get(address);
    const count = previous !== undefined && now - previous.last < FORGET_AFTER ? previous.count + 1 : 1;
    this.#byAddress.delete(address);
    this.#byAddress.set(address, { count, last: now });
    if (this.#byAddress.size > MAX_TRACKED) this.#byAddress.delete(this.#byAddress.keys().next().value!);
    return Math.min(MAX_DELAY, 50 * 2 ** Math.min(count - 1, 20));
  }

  forgive(address: string): void {
    this.#byAddress.delete(address);
  }
}
