import { resolve } from 'node:path';
import type { WebSocket } from 'ws';
import { customAlphabet, nanoid } from 'nanoid';
import { compressionAvailable, ErrorCode, ParecoError, PayloadCompressor, type OpenRequest } from '../../protocol/index.js';
import { loadDigest } from '../digest/registry.js';
import { PathFilter } from '../fs/filter.js';
import type { DigestCache } from '../fs/digest-cache.js';
import { LocalTree } from '../fs/local-tree.js';
import { prepareTreeRoot } from '../fs/tree-root.js';
import { timingSafeEqual } from 'node:crypto';
import { eventualRealPath, isInside } from './allowed-roots.js';
import { pathsOverlap } from './dir-locks.js';
import type { ServerLog } from './server-log.js';
import { Session } from './session.js';

const sessionId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 16);
/** Expired ids remembered so a late rejoin hears "expired" rather than "unknown". */
const REMEMBERED_EXPIRED = 10_000;

export interface RegistryOptions {
  /** Milliseconds a session may live with no lane connected before it expires. */
  expire: number;
  /** Base for relative remote directories. */
  cwd: string;
  log: ServerLog;
  /** Told when a session ends, and why (metrics, drain). */
  onEnded?: (session: Session, why: 'closed' | 'expired' | 'shutdown' | 'replaced') => void;
  /** Real paths every session's directory must lie in; empty: anywhere the process may go. */
  roots?: string[];
  /** Only download sessions (the server is never written to). */
  readOnly?: boolean;
  /** Sessions alive at once. */
  maxSessions?: number;
  /** Lanes of one session. */
  maxLanes?: number;
  /** The persistent digest cache every session's tree uses; none: files are read to be compared. */
  cache?: DigestCache;
  /** A session's end waits until the digests of its last files written can be confirmed (see LocalTreeOptions.patientClose). */
  patientClose?: boolean;
}

export const REGISTRY_DEFAULTS = { maxSessions: 64, maxLanes: 64 };

/** All sessions of a server: opening, joining, idle expiry, and the directory locks of writers. */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #expired = new Set<string>();
  /** Sessions being opened with a client's id: a lane of the same sync arriving meanwhile joins. */
  readonly #opening = new Map<string, Promise<Session>>();
  readonly #options: RegistryOptions;
  readonly #sweeper: NodeJS.Timeout;
  /** Sessions' ends under way. */
  readonly #ending = new Set<Promise<void>>();

  constructor(options: RegistryOptions) {
    this.#options = options;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.min(options.expire / 4, 5_000)));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * True when `open` would join a session rather than open one: a lane of a sync whose first
   * lane opened it already (or is opening it now) with the id its client chose.
   */
  joins(request: OpenRequest): boolean {
    return request.session !== undefined && (this.#sessions.has(request.session) || this.#opening.has(request.session));
  }

  /**
   * Opens a session, or joins the one with the id the client chose (every lane of a sync sends
   * the same open at once; see OpenRequest.session). `created` says which.
   */
  async open(request: OpenRequest, lane: WebSocket): Promise<{ session: Session; created: boolean }> {
    const id = request.session;
    if (id !== undefined) {
      const existing = this.#sessions.get(id) ?? (await this.#opening.get(id)?.catch(() => undefined));
      if (existing !== undefined) return { session: this.#admit(id, existing, request.key ?? '', lane), created: false };
    }
    const opening = this.#create(request, lane);
    if (id !== undefined) {
      this.#opening.set(id, opening);
      const forget = () => this.#opening.delete(id);
      opening.then(forget, forget);
    }
    return { session: await opening, created: true };
  }

  async #create(request: OpenRequest, lane: WebSocket): Promise<Session> {
    if (request.session !== undefined && this.#expired.has(request.session)) {
      throw new ParecoError(ErrorCode.SESSION_EXPIRED, `session ${request.session} expired after being idle`);
    }
    if (this.#options.readOnly && request.mode === 'upload' && !request.dry) {
      throw new ParecoError(ErrorCode.FORBIDDEN, 'this server is read-only: only downloads are allowed');
    }
    const maxSessions = this.#options.maxSessions ?? REGISTRY_DEFAULTS.maxSessions;
    if (this.#sessions.size >= maxSessions) {
      throw new ParecoError(ErrorCode.LIMIT, `the server has ${maxSessions} sessions already (--max-sessions); try again later`);
    }
    const wanted = resolve(this.#options.cwd, request.dir);
    await this.#checkRoots(request.dir, wanted);
    const root = await this.#prepareRoot(request, wanted);
    let session: Session | undefined;
    const tree = new LocalTree({
      root,
      role: request.mode === 'upload' ? 'destination' : 'source',
      chunk: request.chunk,
      block: request.block,
      digest: await loadDigest(request.hash),
      hash: request.hash,
      ...(this.#options.cache === undefined ? {} : { cache: this.#options.cache, patientClose: this.#options.patientClose ?? false }),
      filter: await PathFilter.create(request.include, request.exclude),
      inplace: request.inplace,
      fsync: request.fsync,
      dryRun: request.dry,
      cancelled: () => session?.ended ?? false,
    });
    session = new Session({
      id: request.session ?? sessionId(),
      key: request.key ?? nanoid(32),
      mode: request.mode,
      dry: request.dry,
      root,
      tree,
      chunk: request.chunk,
      // Compression as the client asked, if zstd loads here (the client learns it from `opened`).
      ...(request.zstd !== undefined && compressionAvailable() ? { compressor: new PayloadCompressor(request.zstd) } : {}),
    });
    // Check and register without an await in between, so two opens cannot both win a lock.
    const replaced = session.writes ? this.#lockedBy(root) : [];
    session.lanes.add(lane);
    this.#sessions.set(session.id, session);
    await Promise.all(replaced.map((other) => this.end(other, 'replaced')));
    return session;
  }

  join(id: string, key: string): Session {
    const session = this.#sessions.get(id);
    if (session === undefined && this.#expired.has(id)) {
      throw new ParecoError(ErrorCode.SESSION_EXPIRED, `session ${id} expired after being idle`);
    }
    return this.#admit(id, session, key);
  }

  /** Checks the key and the lane limit of a session a lane joins; adds the lane when given. */
  #admit(id: string, session: Session | undefined, key: string, lane?: WebSocket): Session {
    if (session === undefined || !sameSecret(session.key, key)) {
      throw new ParecoError(ErrorCode.SESSION_NOT_FOUND, `no session ${id} with that key`);
    }
    const maxLanes = this.#options.maxLanes ?? REGISTRY_DEFAULTS.maxLanes;
    if (session.lanes.size >= maxLanes) {
      throw new ParecoError(ErrorCode.LIMIT, `session ${session.id} has ${maxLanes} connections already (--max-lanes)`);
    }
    session.touch();
    if (lane !== undefined) session.lanes.add(lane);
    return session;
  }

  /** Refuses a directory outside every --root, before anything is created. */
  async #checkRoots(asked: string, path: string): Promise<void> {
    const roots = this.#options.roots ?? [];
    if (roots.length === 0) return;
    const real = await eventualRealPath(path).catch(() => path);
    if (!roots.some((root) => isInside(real, root))) {
      throw new ParecoError(ErrorCode.FORBIDDEN, `remote directory ${asked} is outside the directories this server serves`);
    }
  }

  /** Ends a session at the client's request or because it expired. */
  async end(session: Session, why: 'closed' | 'expired' | 'shutdown' | 'replaced'): Promise<void> {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    if (why !== 'closed') this.#rememberExpired(session.id);
    this.#options.log({
      event: 'session-ended',
      session: session.id,
      reason: why,
      mode: session.mode,
      dir: session.root,
      client: session.client,
      bytesReceived: session.bytesReceived,
      bytesSent: session.bytesSent,
      cachedFiles: session.tree.cacheHits.files,
      cachedBytes: session.tree.cacheHits.bytes,
      durationMs: Date.now() - session.startedAt,
    });
    this.#options.onEnded?.(session, why);
    const ending = session.end(why === 'closed' ? 1000 : 1001, `session ${why}`);
    this.#ending.add(ending);
    try {
      await ending;
    } finally {
      this.#ending.delete(ending);
    }
  }

  /** Ends every session, and waits for those ending already (their trees close, their digests are written). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all([...[...this.#sessions.values()].map((s) => this.end(s, 'shutdown')), ...[...this.#ending].map((e) => e.catch(() => {}))]);
  }

  #prepareRoot(request: OpenRequest, wanted: string): Promise<string> {
    return prepareTreeRoot(wanted, `remote directory ${request.dir}`, {
      create: request.mode === 'upload' && !request.dry,
      check: (real) => this.#checkRoots(request.dir, real), // again: a symlink may have been swapped in
    });
  }

  /**
   * Refuses a second writer into overlapping directories. A writing session with no lane
   * connected (its client crashed or was interrupted) gives way: it is returned to be ended.
   */
  #lockedBy(root: string): Session[] {
    const idle: Session[] = [];
    for (const other of this.#sessions.values()) {
      if (!other.writes || !pathsOverlap(root, other.root)) continue;
      if (other.lanes.size > 0) {
        throw new ParecoError(
          ErrorCode.DIR_LOCKED,
          `remote directory ${root} overlaps ${other.root}, which another session is writing`,
        );
      }
      idle.push(other);
    }
    return idle;
  }

  #sweep(): void {
    const now = Date.now();
    for (const session of this.#sessions.values()) {
      // A connected lane is proof of life (its heartbeat ends it if the peer dies).
      if (session.lanes.size === 0 && now - session.lastActive > this.#options.expire) void this.end(session, 'expired');
    }
  }

  #rememberExpired(id: string): void {
    this.#expired.add(id);
    if (this.#expired.size > REMEMBERED_EXPIRED) {
      const oldest = this.#expired.values().next().value;
      if (oldest !== undefined) this.#expired.delete(oldest);
    }
  }
}

/** Compares two secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
