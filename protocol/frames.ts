import { ErrorCode, isErrorCode, ParecoError } from './errors.js';
import { bin, bool, list, name, num, oneOf, optName, record, str, uint, type Fields } from './shape.js';
import { checkWirePath, MAX_PATH_LENGTH } from './wire-path.js';
import { COMPRESSION_LEVELS } from './payload-compression.js';

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
  /**
   * A file of at most one chunk, listed with `digests`: the range digest of its data (of the
   * partial file when `partial`), so that comparing small files costs no request.
   */
  digest?: Buffer;
}

export const LIMITS = {
  /** Largest chunk size a session may use. */
  maxChunk: 64 * 1024 * 1024,
  minChunk: 1,
  /** Smallest block (the unit of comparison inside a differing chunk), unless the chunk is smaller. */
  minBlock: 512,
  /** Entries in one `entries` frame. */
  listBatch: 1000,
  /** Digests asked in one `hash` request. */
  hashBatch: 1024,
  /** Files in one `putmany` or `readmany`. */
  batchFiles: 1024,
  /** Payload bytes of one `putmany` or `datamany` (each file at most one chunk). */
  maxBatchBytes: 8 * 1024 * 1024,
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
  /**
   * The session's id and resume key, chosen by the client, so that every lane can send the same
   * `open` at once: the first to arrive opens the session, the others join it (the key must
   * match). Without them, the server chooses and the other lanes `join`.
   */
  session?: string;
  key?: string;
  /**
   * Compress payloads with zstd at this level (1–19), both ways, where it pays (see `raw` in
   * PROTOCOL.md). The server says in `opened` whether it will.
   */
  zstd?: number;
}
export interface JoinRequest { t: 'join'; id: number; v: number; session: string; key: string }
/**
 * `seq` numbers the batches of one listing from 0; a recent `seq` asked again is answered again.
 * `digests` (read with seq 0) lists the digest of every file of at most one chunk.
 */
export interface ListRequest { t: 'list'; id: number; seq: number; digests: boolean }
export interface HashRequest { t: 'hash'; id: number; path: string; from: number; count: number }
export interface BlocksRequest { t: 'blocks'; id: number; path: string; index: number }
/** A new file of at most one chunk, in a `putmany`: its data is `size` bytes of the payload, in order. */
export interface PutFile { path: string; size: number; mtime: number; mode: number; digest: Buffer }
/** Many whole small files in one request; `data` is their bytes end to end. */
export interface PutManyRequest { t: 'putmany'; id: number; files: PutFile[]; data: Buffer }
/** Many whole small files of a source, read in one request, each up to its listed `size`. */
export interface ReadManyRequest { t: 'readmany'; id: number; files: { path: string; size: number }[] }
export interface StatRequest { t: 'stat'; id: number; path: string }
export interface ReadRequest { t: 'read'; id: number; path: string; offset: number; length: number }
export interface BeginRequest { t: 'begin'; id: number; path: string; size: number }
/** `size` is the file's final size: a write to a file not begun yet begins it (see `begin`). */
export interface WriteRequest { t: 'write'; id: number; path: string; offset: number; size: number; data: Buffer; digest: Buffer }
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
  | BlocksRequest
  | StatRequest
  | ReadRequest
  | BeginRequest
  | WriteRequest
  | PutManyRequest
  | ReadManyRequest
  | CommitRequest
  | MetaRequest
  | MkdirRequest
  | SymlinkRequest
  | DeleteRequest
  | CloseRequest;

export interface OkResponse { t: 'ok'; id: number }
/** `joined`: the lane joined a session another lane of the same client opened (see OpenRequest.session). */
/** `zstd`: payloads of this session may be compressed both ways (it was asked for, and the server can). */
export interface OpenedResponse { t: 'opened'; id: number; session: string; key: string; server: string; joined: boolean; zstd: boolean }
export interface EntriesResponse { t: 'entries'; id: number; entries: Entry[]; done: boolean }
export interface HashesResponse { t: 'hashes'; id: number; size: number; partial: boolean; digests: Buffer[] }
/** A failure of one file of a batch. */
export interface FileError { code: ErrorCode; message: string }
/** One result per file of a `putmany`, in order: null when it is in place. */
export interface ResultsResponse { t: 'results'; id: number; results: (FileError | null)[] }
/** One file of a `datamany`: `size` bytes of the payload, in order, with their digest. */
export interface ReadFile { size: number; mtime: number; digest: Buffer }
export interface DataManyResponse { t: 'datamany'; id: number; files: (ReadFile | FileError)[]; data: Buffer }
export interface StatResponse { t: 'stat'; id: number; entry: Entry | null }
export interface BlockListResponse { t: 'blocklist'; id: number; digests: Buffer }
/** `size` and `mtime` are the source file's, taken after the read (to notice a live file). */
export interface DataResponse { t: 'data'; id: number; data: Buffer; digest: Buffer; size: number; mtime: number }
export interface ErrorResponse { t: 'error'; id: number; code: ErrorCode; message: string }
/** The answer to `close`: files and bytes of the server's side whose digests came from its cache. */
export interface ClosedResponse { t: 'closed'; id: number; cachedFiles: number; cachedBytes: number }

export type Response =
  | OkResponse
  | OpenedResponse
  | EntriesResponse
  | HashesResponse
  | ResultsResponse
  | DataManyResponse
  | BlockListResponse
  | StatResponse
  | DataResponse
  | ClosedResponse
  | ErrorResponse;

/** Limits the decoder enforces; `maxData` follows the session's chunk size. */
export interface DecodeLimits {
  maxData: number;
}

const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxData: LIMITS.maxChunk };

type RequestParser = (f: Fields, limits: DecodeLimits) => Request;

/** A session id chosen by a client: 16 to 64 letters, digits, '-' or '_'. */
function sessionId(f: Fields, frame: string): string {
  const id = str(f, frame, 'session', 64);
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) throw new ParecoError(ErrorCode.PROTOCOL, `malformed ${frame} frame: session must be 16 to 64 letters, digits, - or _`);
  return id;
}

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
    ...(f.session === undefined ? {} : { session: sessionId(f, 'open'), key: str(f, 'open', 'key', 128) }),
    ...(f.zstd === undefined ? {} : { zstd: compressionLevel(f) }),
  }),
  join: (f) => ({
    t: 'join',
    id: uint(f, 'join', 'id'),
    v: uint(f, 'join', 'v'),
    session: str(f, 'join', 'session', 64),
    key: str(f, 'join', 'key', 128),
  }),
  list: (f) => ({ t: 'list', id: uint(f, 'list', 'id'), seq: uint(f, 'list', 'seq'), digests: bool(f, 'list', 'digests') }),
  hash: (f) => ({
    t: 'hash',
    id: uint(f, 'hash', 'id'),
    path: path(f, 'hash'),
    from: uint(f, 'hash', 'from'),
    count: uint(f, 'hash', 'count', LIMITS.hashBatch),
  }),
  blocks: (f) => ({ t: 'blocks', id: uint(f, 'blocks', 'id'), path: path(f, 'blocks'), index: uint(f, 'blocks', 'index') }),
  putmany: (f, limits) => {
    const files = list(f, 'putmany', 'files', LIMITS.batchFiles, (v) => {
      const item = record(v, 'putmany', 'files');
      return {
        path: path(item, 'putmany'),
        size: uint(item, 'putmany', 'size', limits.maxData),
        mtime: num(item, 'putmany', 'mtime'),
        mode: mode(item, 'putmany'),
        digest: bin(item, 'putmany', 'digest', LIMITS.maxDigest),
      };
    });
    const data = bin(f, 'putmany', 'data', LIMITS.maxBatchBytes);
    checkBatchSizes('putmany', files, data);
    return { t: 'putmany', id: uint(f, 'putmany', 'id'), files, data };
  },
  readmany: (f, limits) => {
    const files = list(f, 'readmany', 'files', LIMITS.batchFiles, (v) => {
      const item = record(v, 'readmany', 'files');
      return { path: path(item, 'readmany'), size: uint(item, 'readmany', 'size', limits.maxData) };
    });
    if (files.reduce((sum, file) => sum + file.size, 0) > LIMITS.maxBatchBytes) {
      throw new ParecoError(ErrorCode.PROTOCOL, `malformed readmany frame: more than ${LIMITS.maxBatchBytes} bytes asked`);
    }
    return { t: 'readmany', id: uint(f, 'readmany', 'id'), files };
  },
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
    size: uint(f, 'write', 'size'),
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
  if (f.digest !== undefined) entry.digest = bin(f, 'entries', 'digest', LIMITS.maxDigest);
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

/** The failure of one file of a batch. */
function fileError(item: Fields, frame: string): FileError {
  const code = str(item, frame, 'code', 64);
  return { code: isErrorCode(code) ? code : ErrorCode.IO, message: str(item, frame, 'message', 4096) };
}

/** A compression level the session asks for. */
function compressionLevel(f: Fields): number {
  const level = uint(f, 'open', 'zstd', COMPRESSION_LEVELS.max);
  if (level < COMPRESSION_LEVELS.min) {
    throw new ParecoError(ErrorCode.PROTOCOL, `malformed open frame: zstd must be a compression level from ${COMPRESSION_LEVELS.min} to ${COMPRESSION_LEVELS.max}`);
  }
  return level;
}

/** The files of a batch are its payload end to end: their sizes must add up to it. */
function checkBatchSizes(frame: string, files: { size: number }[], data: Buffer): void {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total !== data.length) throw new ParecoError(ErrorCode.PROTOCOL, `malformed ${frame} frame: the files' sizes add up to ${total}, the payload has ${data.length} bytes`);
}

/** The `{size, partial, digests}` of one file, as in `hashes`. */
function digestList(f: Fields, frame: string): { size: number; partial: boolean; digests: Buffer[] } {
  return {
    size: uint(f, frame, 'size'),
    partial: bool(f, frame, 'partial'),
    digests: list(f, frame, 'digests', LIMITS.hashBatch, (v) => bin({ digests: v }, frame, 'digests', LIMITS.maxDigest)),
  };
}

const responseParsers: Record<Response['t'], ResponseParser> = {
  ok: (f) => ({ t: 'ok', id: uint(f, 'ok', 'id') }),
  closed: (f) => ({ t: 'closed', id: uint(f, 'closed', 'id'), cachedFiles: uint(f, 'closed', 'cachedFiles'), cachedBytes: uint(f, 'closed', 'cachedBytes') }),
  opened: (f) => ({
    t: 'opened',
    id: uint(f, 'opened', 'id'),
    session: str(f, 'opened', 'session', 64),
    key: str(f, 'opened', 'key', 128),
    server: str(f, 'opened', 'server', 64),
    joined: bool(f, 'opened', 'joined'),
    zstd: f.zstd === undefined ? false : bool(f, 'opened', 'zstd'),
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
  results: (f) => ({
    t: 'results',
    id: uint(f, 'results', 'id'),
    results: list(f, 'results', 'results', LIMITS.batchFiles, (v) => (v === null || v === undefined ? null : fileError(record(v, 'results', 'results'), 'results'))),
  }),
  datamany: (f, limits) => {
    const files = list(f, 'datamany', 'files', LIMITS.batchFiles, (v): ReadFile | FileError => {
      const item = record(v, 'datamany', 'files');
      if (item.code !== undefined) return fileError(item, 'datamany');
      return { size: uint(item, 'datamany', 'size', limits.maxData), mtime: num(item, 'datamany', 'mtime'), digest: bin(item, 'datamany', 'digest', LIMITS.maxDigest) };
    });
    const data = bin(f, 'datamany', 'data', LIMITS.maxBatchBytes);
    checkBatchSizes('datamany', files.filter((file): file is ReadFile => 'size' in file), data);
    return { t: 'datamany', id: uint(f, 'datamany', 'id'), files, data };
  },
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
