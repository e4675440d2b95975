import { createRequire } from 'node:module';

/** What the digest cache uses of a SQLite binding: the part node:sqlite and better-sqlite3 share. */
export interface SqlStatement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}

export interface SqlDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
}

/**
 * Opens a SQLite database with the binding this Node.js has: its own `node:sqlite` where it
 * exists (22.5 and later: nothing to build or install), else `better-sqlite3` (compiled at
 * install for Node.js 20). Both are synchronous, which suits lookups made while a tree is
 * listed. Loaded only when called.
 */
export function openSqlite(path: string): SqlDatabase {
  const require = createRequire(import.meta.url);
  let builtin: { DatabaseSync: new (path: string) => SqlDatabase } | undefined;
  try {
    builtin = require('node:sqlite') as typeof builtin;
  } catch {
    // Node.js 20: no node:sqlite.
  }
  if (builtin !== undefined) return new builtin.DatabaseSync(path);
  const Database = require('better-sqlite3') as new (path: string) => SqlDatabase;
  return new Database(path);
}
