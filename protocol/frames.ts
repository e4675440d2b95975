import { ErrorCode, isErrorCode, ParecoError } from './errors.js';
import { bin, bool, list, name, num, oneOf, optName, record, str, uint, type Fields } from './shape.js';
import { checkWirePath, MAX_PATH_LENGTH } from './wire-path.js';

/*
 * Every frame is one msgpack map with a type `t`. Requests (client → server) carry an `id`;
 * every response carries the `id` of its request. See PROTOCOL.md for the semantics.
 */

export const HASHES = ['xxh64', 'xxh32', 'crc32', 'md5', 'sha1', 'sha256', 'sha512'] as const;
export type HashName = (typeof HASHES)[number];

export const MODES = ['upload', 'download'] as const;
export type Mode = (typeof MODES)[number];

/**
 * Kinds of tree entries: file, directory, symlink, other (fifo, socket, device — never copied),
 * partial: a destination's unfinished file left by an interrupted run whose target does not
 * exist, listed under the path of the file it will become so that its chunks can be reused,
 * and unreadable: an entry (or a directory's contents) that could not be read, with the reason.
 */
export const KINDS = ['f', 'd', 'l', 'o', 'p', 'x'] as const;
export type Kind = (typeof KINDS)[number];

/** One entry of a tree listing. `mtime` is milliseconds since the epoch (with a fraction). */
export interface Entry {
  path: string;
  kind: Kind;
  size: number;
  mtime: number;
  mode: number;
  /** Symlink target, for kind 'l'. */
  target?: string;
  /** A file of a destination with a partial file beside it (an interrupted run's): compare against that. */
  partial?: boolean;
  /** Why an entry of kind 'x' could not be read: one line naming it. */
  error?: string;
}

export const LIMITS = {
  /** Largest chunk size a session may use. */
  maxChunk: 64 * 1024 * 1024,
  minChunk: 1,
  /** Smallest block (the unit of comparison inside a differing chunk), unless the chunk is smaller. */
  minBlock: 512,
  /** Entries in one `entries` frame. */
  listBatch: 1000,
  /** Digests asked in one `hash` request, and in all the files of one `hashmany`. */
  hashBatch: 1024,
  /** Files in one `hashmany` request. */
  hashManyFiles: 256,
  /** Include or exclude patterns of a session. */
  maxPatterns: 1000,
  maxDigest: 64,
} as const;

export interface OpenRequest {
  t: 'open';
  id: number;
  v: number;
  mode: Mode;
  dir: string;
  chunk: number;
  /** Block size; `chunk` is a multiple of it. */
  block: number;
  hash: HashName;
  include: string[];
  exclude: string[];
  inplace: boolean;
  /** Flush data and directory entries to disk before each rename. */
  fsync: boolean;
  /** Dry run: the session lists and hashes but never writes, creates or locks anything. */
  dry: boolean;
}
export interface JoinRequest { t: 'join'; id: number; v: number; session: string; key: string }
/** `seq` numbers the batches of one listing from 0; asking for the same `seq` again repeats it. */
export interface ListRequest { t: 'list'; id: number; seq: number }
export interface HashRequest { t: 'hash'; id: number; path: string; from: number; count: number }
/** `hash` for many (small) files at once: one round trip and one message for all of them. */
export interface HashManyRequest { t: 'hashmany'; id: number; files: { path: string; from: number; count: number }[] }
export interface BlocksRequest { t: 'blocks'; id: number; path: string; index: number }
export interface PutRequest { t: 'put'; id: number; path: string; mtime: number; mode: number; data: Buffer; digest: Buffer }
export interface StatRequest { t: 'stat'; id: number; path: string }
export interface ReadRequest { t: 'read'; id: number; path: string; offset: number; length: number }
export interface BeginRequest { t: 'begin'; id: number; path: string; size: number }
export interface WriteRequest { t: 'write'; id: number; path: string; offset: number; data: Buffer; digest: Buffer }
export interface CommitRequest { t: 'commit'; id: number; path: string; size: number; mtime: number; mode: number }
export interface MetaRequest { t: 'meta'; id: number; path: string; mtime: number; mode: number }
export interface MkdirRequest { t: 'mkdir'; id: number; path: string }
export interface SymlinkRequest { t: 'symlink'; id: number; path: string; target: string; mtime: number }
/** `partial`: remove the partial file of `path` (an interrupted transfer's), not `path`. */
export interface DeleteRequest { t: 'delete'; id: number; path: string; recursive: boolean; partial: boolean }
export interface CloseRequest { t: 'close'; id: number }

export type Request =
  | OpenRequest
  | JoinRequest
  | ListRequest
  | HashRequest
  | HashManyRequest
  | BlocksRequest
  | StatRequest
  | ReadRequest
  | BeginRequest
  | WriteRequest
  | PutRequest
  | CommitRequest
  | MetaRequest
  | MkdirRequest
  | SymlinkRequest
  | DeleteRequest
  | CloseRequest;

export interface OkResponse { t: 'ok'; id: number }
export interface OpenedResponse { t: 'opened'; id: number; session: string; key: string; server: string }
export interface EntriesResponse { t: 'entries'; id: number; entries: Entry[]; done: boolean }
export interface HashesResponse { t: 'hashes'; id: number; size: number; partial: boolean; digests: Buffer[] }
/** One result per file of a `hashmany`, in order: its digests, or the error for that file. */
export type HashManyResult = { size: number; partial: boolean; digests: Buffer[] } | { code: ErrorCode; message: string };
export interface HashManyResponse { t: 'hashmany'; id: number; files: HashManyResult[] }
export interface StatResponse { t: 'stat'; id: number; entry: Entry | null }
export interface BlockListResponse { t: 'blocklist'; id: number; digests: Buffer }
/** `size` and `mtime` are the source file's, taken after the read (to notice a live file). */
export interface DataResponse { t: 'data'; id: number; data: Buffer; digest: Buffer; size: number; mtime: number }
export interface ErrorResponse { t: 'error'; id: number; code: ErrorCode; message: string }

export type Response =
  | OkResponse
  | OpenedResponse
  | EntriesResponse
  | HashesResponse
  | HashManyResponse
  | BlockListResponse
  | StatResponse
  | DataResponse
  | ErrorResponse;

/** Limits the decoder enforces; `maxData` follows the session's chunk size. */
export interface DecodeLimits {
  maxData: number;
}

const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxData: LIMITS.maxChunk };

type RequestParser = (f: Fields, limits: DecodeLimits) => Request;

/** Longest symlink target (Linux: PATH_MAX less its NUL). */
const MAX_TARGET_BYTES = 4095;

// Read generously, then judged by checkWirePath: an over-long path is BAD_PATH for that request.
const path = (f: Fields, t: string, field = 'path') => checkWirePath(name(f, t, field, 4 * MAX_PATH_LENGTH));
const mode = (f: Fields, t: string) => uint(f, t, 'mode', 0o7777);
const patterns = (f: Fields, t: string, field: string) =>
  list(f, t, field, LIMITS.maxPatterns, (v) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
      throw new ParecoError(ErrorCode.PROTOCOL, `malformed ${t} frame: ${field} must hold non-empty strings`);
    }
    return v;
  });

/**
 * Why a chunk and block size pair is unusable, or undefined when it is fine: the block must
 * divide the chunk and not be so small that its digests outweigh the data.
 */
export function blockSizeProblem(chunk: number, block: number): string | undefined {
  const floor = Math.min(LIMITS.minBlock, chunk);
  if (chunk < LIMITS.minChunk || block < floor || block > chunk || chunk % block !== 0) {
    return `block ${block} must divide chunk ${chunk} and be at least ${floor} bytes`;
  }
  return undefined;
}

function checkOpen(open: OpenRequest): OpenRequest {
  const problem = blockSizeProblem(open.chunk, open.block);
  if (problem !== undefined) throw new ParecoError(ErrorCode.PROTOCOL, `malformed open frame: ${problem}`);
  return open;
}

const requestParsers: Record<Request['t'], RequestParser> = {
  open: (f) => checkOpen({
    t: 'open',
    id: uint(f, 'open', 'id'),
    v: uint(f, 'open', 'v'),
    mode: oneOf(f, 'open', 'mode', MODES),
    dir: str(f, 'open', 'dir'),
    chunk: uint(f, 'open', 'chunk', LIMITS.maxChunk),
    block: uint(f, 'open', 'block', LIMITS.maxChunk),
    hash: oneOf(f, 'open', 'hash', HASHES),
    include: patterns(f, 'open', 'include'),
    exclude: patterns(f, 'open', 'exclude'),
    inplace: bool(f, 'open', 'inplace'),
    fsync: bool(f, 'open', 'fsync'),
    dry: f.dry === undefined ? false : bool(f, 'open', 'dry'),
  }),
  join: (f) => ({
    t: 'join',
    id: uint(f, 'join', 'id'),
    v: uint(f, 'join', 'v'),
    session: str(f, 'join', 'session', 64),
    key: str(f, 'join', 'key', 128),
  }),
  list: (f) => ({ t: 'list', id: uint(f, 'list', 'id'), seq: uint(f, 'list', 'seq') }),
  hash: (f) => ({
    t: 'hash',
    id: uint(f, 'hash', 'id'),
    path: path(f, 'hash'),
    from: uint(f, 'hash', 'from'),
    count: uint(f, 'hash', 'count', LIMITS.hashBatch),
  }),
  hashmany: (f) => {
    let total = 0;
    const files = list(f, 'hashmany', 'files', LIMITS.hashManyFiles, (v) => {
      const item = record(v, 'hashmany', 'files');
      const file = { path: path(item, 'hashmany'), from: uint(item, 'hashmany', 'from'), count: uint(item, 'hashmany', 'count', LIMITS.hashBatch) };
      total += file.count;
      return file;
    });
    if (total > LIMITS.hashBatch) throw new ParecoError(ErrorCode.PROTOCOL, `malformed hashmany frame: more than ${LIMITS.hashBatch} digests asked`);
    return { t: 'hashmany', id: uint(f, 'hashmany', 'id'), files };
  },
  blocks: (f) => ({ t: 'blocks', id: uint(f, 'blocks', 'id'), path: path(f, 'blocks'), index: uint(f, 'blocks', 'index') }),
  put: (f, limits) => ({
    t: 'put',
    id: uint(f, 'put', 'id'),
    path: path(f, 'put'),
    mtime: num(f, 'put', 'mtime'),
    mode: mode(f, 'put'),
    data: bin(f, 'put', 'data', limits.maxData),
    digest: bin(f, 'put', 'digest', LIMITS.maxDigest),
  }),
  stat: (f) => ({ t: 'stat', id: uint(f, 'stat', 'id'), path: path(f, 'stat') }),
  read: (f, limits) => ({
    t: 'read',
    id: uint(f, 'read', 'id'),
    path: path(f, 'read'),
    offset: uint(f, 'read', 'offset'),
    length: uint(f, 'read', 'length', limits.maxData),
  }),
  begin: (f) => ({ t: 'begin', id: uint(f, 'begin', 'id'), path: path(f, 'begin'), size: uint(f, 'begin', 'size') }),
  write: (f, limits) => ({
    t: 'write',
    id: uint(f, 'write', 'id'),
    path: path(f, 'write'),
    offset: uint(f, 'write', 'offset'),
    data: bin(f, 'write', 'data', limits.maxData),
    digest: bin(f, 'write', 'digest', LIMITS.maxDigest),
  }),
  commit: (f) => ({
    t: 'commit',
    id: uint(f, 'commit', 'id'),
    path: path(f, 'commit'),
    size: uint(f, 'commit', 'size'),
    mtime: num(f, 'commit', 'mtime'),
    mode: mode(f, 'commit'),
  }),
  meta: (f) => ({
    t: 'meta',
    id: uint(f, 'meta', 'id'),
    path: path(f, 'meta'),
    mtime: num(f, 'meta', 'mtime'),
    mode: mode(f, 'meta'),
  }),
  mkdir: (f) => ({ t: 'mkdir', id: uint(f, 'mkdir', 'id'), path: path(f, 'mkdir') }),
  symlink: (f) => ({
    t: 'symlink',
    id: uint(f, 'symlink', 'id'),
    path: path(f, 'symlink'),
    target: name(f, 'symlink', 'target', MAX_TARGET_BYTES),
    mtime: num(f, 'symlink', 'mtime'),
  }),
  delete: (f) => ({
    t: 'delete',
    id: uint(f, 'delete', 'id'),
    path: path(f, 'delete'),
    recursive: bool(f, 'delete', 'recursive'),
    partial: bool(f, 'delete', 'partial'),
  }),
  close: (f) => ({ t: 'close', id: uint(f, 'close', 'id') }),
};

function typeOf(value: unknown, side: string): { f: Fields; t: string } {
  const f = record(value, side, 'frame');
  if (typeof f.t !== 'string') throw new ParecoError(ErrorCode.PROTOCOL, `malformed ${side} frame: no type`);
  return { f, t: f.t };
}

/** Validates a decoded request frame; throws PROTOCOL (or BAD_PATH) on anything unexpected. */
export function parseRequest(value: unknown, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Request {
  const { f, t } = typeOf(value, 'request');
  const parser = Object.hasOwn(requestParsers, t) ? requestParsers[t as Request['t']] : undefined;
  if (parser === undefined) throw new ParecoError(ErrorCode.PROTOCOL, `unknown request type ${JSON.stringify(t.slice(0, 40))}`);
  return parser(f, limits);
}

export function parseEntry(value: unknown): Entry {
  const f = record(value, 'entries', 'entry');
  const entry: Entry = {
    path: checkWirePath(name(f, 'entries', 'path')),
    kind: oneOf(f, 'entries', 'kind', KINDS),
    size: uint(f, 'entries', 'size'),
    mtime: num(f, 'entries', 'mtime'),
    mode: uint(f, 'entries', 'mode', 0o7777),
  };
  const target = optName(f, 'entries', 'target', MAX_TARGET_BYTES);
  if (target !== undefined) entry.target = target;
  if (f.partial !== undefined && bool(f, 'entries', 'partial')) entry.partial = true;
  if (entry.kind === 'x') entry.error = str(f, 'entries', 'error', 4096);
  if (entry.path === '' && entry.kind !== 'd') throw new ParecoError(ErrorCode.BAD_PATH, 'unsafe path "": the root can only be a directory');
  return entry;
}

type ResponseParser = (f: Fields, limits: DecodeLimits) => Response;

/**
 * Bytes of block digests one chunk can have: one digest (of at most maxDigest bytes) per block,
 * and a block is at least minBlock bytes unless it is the whole chunk. Digest bytes, not data
 * bytes: a 10-byte chunk hashed with sha256 has a 32-byte block list.
 */
function maxBlockList(chunk: number): number {
  const blocks = chunk <= LIMITS.minBlock ? 1 : Math.ceil(chunk / LIMITS.minBlock);
  return blocks * LIMITS.maxDigest;
}

/** The `{size, partial, digests}` of one file, as in `hashes` and each result of `hashmany`. */
function digestList(f: Fields, frame: string): { size: number; partial: boolean; digests: Buffer[] } {
  return {
    size: uint(f, frame, 'size'),
    partial: bool(f, frame, 'partial'),
    digests: list(f, frame, 'digests', LIMITS.hashBatch, (v) => bin({ digests: v }, frame, 'digests', LIMITS.maxDigest)),
  };
}

const responseParsers: Record<Response['t'], ResponseParser> = {
  ok: (f) => ({ t: 'ok', id: uint(f, 'ok', 'id') }),
  opened: (f) => ({
    t: 'opened',
    id: uint(f, 'opened', 'id'),
    session: str(f, 'opened', 'session', 64),
    key: str(f, 'opened', 'key', 128),
    server: str(f, 'opened', 'server', 64),
  }),
  entries: (f) => ({
    t: 'entries',
    id: uint(f, 'entries', 'id'),
    entries: list(f, 'entries', 'entries', LIMITS.listBatch, parseEntry),
    done: bool(f, 'entries', 'done'),
  }),
  hashes: (f) => ({ t: 'hashes', id: uint(f, 'hashes', 'id'), ...digestList(f, 'hashes') }),
  stat: (f) => ({
    t: 'stat',
    id: uint(f, 'stat', 'id'),
    entry: f.entry === null || f.entry === undefined ? null : parseEntry(f.entry),
  }),
  hashmany: (f) => ({
    t: 'hashmany',
    id: uint(f, 'hashmany', 'id'),
    files: list(f, 'hashmany', 'files', LIMITS.hashManyFiles, (v) => {
      const item = record(v, 'hashmany', 'files');
      if (typeof item.code === 'string') {
        const code = str(item, 'hashmany', 'code', 64);
        return { code: isErrorCode(code) ? code : ErrorCode.IO, message: str(item, 'hashmany', 'message') };
      }
      return digestList(item, 'hashmany');
    }),
  }),
  blocklist: (f, limits) => ({
    t: 'blocklist',
    id: uint(f, 'blocklist', 'id'),
    digests: bin(f, 'blocklist', 'digests', maxBlockList(limits.maxData)),
  }),
  data: (f, limits) => ({
    t: 'data',
    id: uint(f, 'data', 'id'),
    data: bin(f, 'data', 'data', limits.maxData),
    digest: bin(f, 'data', 'digest', LIMITS.maxDigest),
    size: uint(f, 'data', 'size'),
    mtime: num(f, 'data', 'mtime'),
  }),
  error: (f) => {
    const code = str(f, 'error', 'code', 64);
    return {
      t: 'error',
      id: uint(f, 'error', 'id'),
      code: isErrorCode(code) ? code : ErrorCode.IO,
      message: str(f, 'error', 'message', 4096),
    };
  },
};

/** Validates a decoded response frame; throws PROTOCOL on anything unexpected. */
export function parseResponse(value: unknown, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Response {
  const { f, t } = typeOf(value, 'response');
  const parser = Object.hasOwn(responseParsers, t) ? responseParsers[t as Response['t']] : undefined;
  if (parser === undefined) throw new ParecoError(ErrorCode.PROTOCOL, `unknown response type ${JSON.stringify(t.slice(0, 40))}`);
  return parser(f, limits);
}
