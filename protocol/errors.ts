/**
 * The one catalogue of error codes. The same codes travel in error frames, are thrown by the
 * client and server code, and are mapped to exit codes by the CLI.
 */
export const ErrorCode = {
  /** A frame could not be decoded or did not have the required shape. */
  PROTOCOL: 'PROTOCOL',
  /** The peer speaks another protocol version. */
  VERSION: 'VERSION',
  /** Missing or wrong bearer token. */
  AUTH: 'AUTH',
  /** Invalid arguments or option values (usage errors). */
  USAGE: 'USAGE',
  /** A path from the wire is not a safe relative path. */
  BAD_PATH: 'BAD_PATH',
  /** A file or directory does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** A path that must be a directory (a tree's root) is something else. */
  NOT_A_DIRECTORY: 'NOT_A_DIRECTORY',
  /** The operating system refused access. */
  PERMISSION: 'PERMISSION',
  /** The destination file system is full. */
  NO_SPACE: 'NO_SPACE',
  /** Any other I/O failure. */
  IO: 'IO',
  /** A chunk's bytes do not match the digest the sender computed. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  /** The session id is unknown or the resume key is wrong. */
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  /** The session existed but expired after being idle. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** Another writing session holds an overlapping directory. */
  DIR_LOCKED: 'DIR_LOCKED',
  /** A server limit was reached (sessions, connections of a session). */
  LIMIT: 'LIMIT',
  /** The request is not allowed (a write in a download session, a directory outside --root). */
  FORBIDDEN: 'FORBIDDEN',
  /** The connection could not be made, or was lost. */
  CONNECTION: 'CONNECTION',
  /**
   * Nothing answers at the server's address: the connection was refused or the host name does
   * not resolve. A first connection fails at once (a typo should not wait through retries); a
   * lane that had been connected keeps retrying (the server may be restarting).
   */
  UNREACHABLE: 'UNREACHABLE',
  /** The HTTP proxy refused the tunnel: wrong or missing credentials (407), or not allowed (403). */
  PROXY: 'PROXY',
  /** The server's TLS certificate could not be verified (client side only). */
  TLS: 'TLS',
  /** An operation took longer than its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** A directory still holds entries, so it was not removed. */
  NOT_EMPTY: 'NOT_EMPTY',
  /** A source file vanished or changed while it was being read. */
  SOURCE_CHANGED: 'SOURCE_CHANGED',
  /** The operation was cancelled. */
  ABORTED: 'ABORTED',
  /** The server is shutting down (draining): it takes no new session; try again, maybe elsewhere. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A source entry that is not a regular file, directory or symlink (fifo, socket, device): not copied. */
  SPECIAL_FILE: 'SPECIAL_FILE',
  /** --delete-unexpected deleted nothing because some entries failed. */
  DELETE_SKIPPED: 'DELETE_SKIPPED',
  /** --delete-unexpected deleted nothing because more entries would go than --max-delete allows. */
  DELETE_LIMIT: 'DELETE_LIMIT',
  /** A partial file of an interrupted transfer whose source is gone: kept (--delete-unexpected removes it). */
  STALE_PARTIAL: 'STALE_PARTIAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codes = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}

/*
 * What a failure means for a sync, decided here from its code and nowhere else (never from a
 * message's text). The client's lane pool, its sync loop and the CLI all ask these.
 */

/** The connection a request went out on is gone: the request may be sent again on another lane. */
export function isLaneLoss(code: ErrorCode): boolean {
  return code === ErrorCode.CONNECTION || code === ErrorCode.TIMEOUT || code === ErrorCode.UNREACHABLE;
}

/** The session cannot be joined again (the server forgot it, or never will accept us): a new one is needed. */
export function isSessionGone(code: ErrorCode): boolean {
  return code === ErrorCode.SESSION_EXPIRED || code === ErrorCode.SESSION_NOT_FOUND;
}

/** Retrying the same connection cannot help: wrong token, protocol version, certificate or proxy credentials. */
export function isPermanentRefusal(code: ErrorCode): boolean {
  return code === ErrorCode.AUTH || code === ErrorCode.VERSION || code === ErrorCode.TLS || code === ErrorCode.PROXY;
}

/**
 * The whole sync stops: the connection or session is gone, the peer broke the protocol, or the
 * user interrupted. Any other code fails only the entry it came with.
 */
export function isFatal(code: ErrorCode): boolean {
  return isLaneLoss(code) || isSessionGone(code) || isPermanentRefusal(code) || code === ErrorCode.ABORTED || code === ErrorCode.PROTOCOL;
}

/** The base error of Pareco: a stable `code` plus a one-line human message. */
export class ParecoError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParecoError';
    this.code = code;
  }
}

const errnoCodes: Record<string, ErrorCode> = {
  ENOENT: ErrorCode.NOT_FOUND,
  ENOTDIR: ErrorCode.NOT_FOUND,
  EACCES: ErrorCode.PERMISSION,
  EPERM: ErrorCode.PERMISSION,
  EROFS: ErrorCode.PERMISSION,
  ENOSPC: ErrorCode.NO_SPACE,
  EDQUOT: ErrorCode.NO_SPACE,
  ENOTEMPTY: ErrorCode.NOT_EMPTY,
};

/**
 * Turns any thrown value into a ParecoError. File-system errors get a code from their errno
 * and a message naming `subject` (a path relative to the tree root, never an absolute server path).
 */
export function toParecoError(error: unknown, subject?: string): ParecoError {
  if (error instanceof ParecoError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string') {
    const code = errnoCodes[errno] ?? ErrorCode.IO;
    const what = subject === undefined ? '' : `${subject === '' ? '.' : subject}: `;
    return new ParecoError(code, `${what}${describeErrno(errno)}`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ParecoError(ErrorCode.IO, subject === undefined ? message : `${subject}: ${message}`, {
    cause: error,
  });
}

const errnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EEXIST: 'file exists',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

function describeErrno(errno: string): string {
  return `${errnoText[errno] ?? 'I/O error'} (${errno})`;
}
