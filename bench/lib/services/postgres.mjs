// Temporary PostgreSQL 15 clusters for the database scenarios (Z, M): initdb, start, stop,
// pgbench and checks, run as the `postgres` user when the harness runs as root (PostgreSQL
// refuses to run as root). A cluster listens only on a Unix socket in a directory of its own,
// so it needs no TCP port and cannot collide with anything else on the machine. Every started
// cluster is stopped on exit, Ctrl-C and errors (pg_ctl daemonises it: it is not our child).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

import { track } from '../proc.mjs';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const TOOLS = ['initdb', 'pg_ctl', 'pgbench', 'pg_amcheck', 'postgres', 'psql', 'createdb'];

export const postgresInstalled = () => TOOLS.every((t) => fs.existsSync(path.join(PG_BIN, t)));

/** uid/gid to run PostgreSQL as: postgres when we are root, else ourselves. */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  return { uid: Number(r.stdout), gid: Number(g.stdout) };
}

/** Gives a tree to the user PostgreSQL runs as (a copy made by root must be before it starts). */
export function giveToPostgres(dir) {
  const { uid, gid } = runAs();
  if (uid === undefined) return;
  const r = spawnSync('chown', ['-R', `${uid}:${gid}`, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chown -R postgres ${dir} failed: ${r.stderr}`);
}

function pgEnv() {
  const env = { ...process.env, LC_ALL: 'C' };
  delete env.PGHOST;
  delete env.PGPORT;
  delete env.PGDATABASE;
  return env;
}

/** Runs a PostgreSQL tool to completion; throws with its output on failure. */
export function pgTool(tool, args, { allowFail = false } = {}) {
  const r = spawnSync(path.join(PG_BIN, tool), args, { ...runAs(), cwd: os.tmpdir(), env: pgEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) throw new Error(`${tool} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r;
}

const running = new Set();
/** For exit handlers: stops every cluster still running, immediately. */
export function stopAllClusters() {
  for (const c of running) c.stop('immediate', { allowFail: true });
}

export class Cluster {
  /** `dataDir` (need not exist yet), `socketDir` (owned by the PostgreSQL user), `port`. */
  constructor({ dataDir, socketDir, port }) {
    this.dataDir = dataDir;
    this.socketDir = socketDir;
    this.port = port;
  }

  get connArgs() {
    return ['-h', this.socketDir, '-p', String(this.port)];
  }

  initdb() {
    pgTool('initdb', ['-D', this.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  }

  /** `settings`: extra -c name=value server settings. */
  start(settings = []) {
    const o = [`-p ${this.port}`, `-k ${this.socketDir}`, "-c listen_addresses=''", ...settings.map((s) => `-c ${s}`)].join(' ');
    running.add(this);
    pgTool('pg_ctl', ['-D', this.dataDir, '-o', o, '-w', '-t', '60', '-l', path.join(this.socketDir, `postgres-${this.port}.log`), 'start']);
  }

  stop(mode = 'fast', { allowFail = false } = {}) {
    if (!running.has(this)) return;
    running.delete(this);
    pgTool('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], { allowFail });
  }

  psql(db, sql) {
    return pgTool('psql', [...this.connArgs, '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql]).stdout.trim();
  }

  /** Starts pgbench (tracked child, killed on exit); resolves with its exit code and output. */
  pgbench(db, args) {
    const child = track(spawn(path.join(PG_BIN, 'pgbench'), [...this.connArgs, '-U', 'postgres', ...args, db], { ...runAs(), cwd: os.tmpdir(), env: pgEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s) => { out += s; });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out }));
    });
  }
}
