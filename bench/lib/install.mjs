// Tools the harness needs from Debian packages, installed with apt-get when missing (as root, or
// through sudo -n): rsync for every scenario, PostgreSQL 15 for the database scenarios (Z, M).

import { spawnSync } from 'node:child_process';

import { log } from './log.mjs';
import { postgresInstalled } from './services/postgres.mjs';

function apt(...args) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const argv = [...sudo, 'apt-get', ...args];
  return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** apt-get install, once more after apt-get update if the package lists were stale. */
function aptInstall(packages) {
  if (apt('install', '-y', ...packages).status === 0) return true;
  apt('update');
  return apt('install', '-y', ...packages).status === 0;
}

export function ensureRsync() {
  const has = () => spawnSync('rsync', ['--version'], { encoding: 'utf8' }).status === 0;
  if (has()) return;
  log('bench: rsync not found, installing it with apt-get …');
  aptInstall(['rsync']);
  if (!has()) throw new Error('rsync is missing and could not be installed (apt-get install -y rsync)');
}

/** Returns null when PostgreSQL 15 is there (installing it if needed), else why not. */
export function ensurePostgres() {
  if (postgresInstalled()) return null;
  log('bench: PostgreSQL 15 not found (/usr/lib/postgresql/15/bin), installing postgresql-15 and its contrib modules with apt-get …');
  // Debian 12 ships the contrib modules (amcheck) inside postgresql-15; postgresql-contrib-15 exists elsewhere.
  if (!aptInstall(['postgresql-15', 'postgresql-contrib-15'])) aptInstall(['postgresql-15', 'postgresql-contrib']);
  if (postgresInstalled()) return null;
  return 'PostgreSQL 15 is missing and could not be installed (apt-get install -y postgresql-15 postgresql-contrib-15)';
}
