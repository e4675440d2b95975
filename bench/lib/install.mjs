// Tools the harness needs from Debian packages, installed with apt-get when missing.

import { spawnSync } from 'node:child_process';

import { log } from './log.mjs';

function apt(...args) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const argv = [...sudo, 'apt-get', ...args];
  return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function ensureRsync() {
  const has = () => spawnSync('rsync', ['--version'], { encoding: 'utf8' }).status === 0;
  if (has()) return;
  log('bench: rsync not found, installing it with apt-get …');
  if (apt('install', '-y', 'rsync').status !== 0) {
    apt('update');
    apt('install', '-y', 'rsync');
  }
  if (!has()) throw new Error('rsync is missing and could not be installed (apt-get install -y rsync)');
}
