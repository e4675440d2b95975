// The run's temporary directory (data/ = the rsync module root and Pareco's remote side, etc/ =
// daemon config, logs, probe files, caches), and the guarantee that it and every child process
// go away at the end, on errors and on Ctrl-C (the directory stays with --keep). Things that are
// not our children (a daemonised PostgreSQL) register a synchronous stop with onCleanup().

import fs from 'node:fs';
import path from 'node:path';

import { log, red } from './log.mjs';
import { killAllChildren } from './proc.mjs';

export function createWorkDir({ tmp, keep }) {
  fs.mkdirSync(tmp, { recursive: true });
  const root = fs.mkdtempSync(path.join(tmp, 'pareco-bench-'));
  const work = { root, data: path.join(root, 'data'), etc: path.join(root, 'etc') };
  fs.mkdirSync(work.data);
  fs.mkdirSync(work.etc);

  const hooks = [];
  work.onCleanup = (fn) => hooks.push(fn);
  let cleaned = false;
  work.cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const fn of hooks) {
      try { fn(); } catch (e) { log(`bench: cleanup: ${e.message}`); }
    }
    killAllChildren();
    if (keep) {
      log(`bench: kept ${root}`);
      return;
    }
    try { fs.rmSync(root, { recursive: true, force: true }); } catch (e) { log(`bench: could not remove ${root}: ${e.message}`); }
  };
  process.on('exit', work.cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`\nbench: ${sig}, stopping children and removing ${root} …`);
      work.cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  const fatal = (e) => {
    log(red(`bench: fatal: ${e?.stack ?? e}`));
    work.cleanup();
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  return work;
}
