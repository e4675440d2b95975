/**
 * Pareco's programmatic API: the CLI is a thin layer over these.
 */
export { sync, SYNC_DEFAULTS, type SyncOptions } from './client/sync.js';
export type { SyncEvent, SyncSummary } from './client/sync-report.js';
export { startServer, type RunningServer, type ServerOptions } from './server/server.js';
export { ErrorCode, ParecoError, PROTOCOL_VERSION, HASHES, type HashName, type Mode } from '../protocol/index.js';
export { VERSION } from './version.js';
