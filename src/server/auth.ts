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
