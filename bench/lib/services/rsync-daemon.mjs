// The rsync daemon both directions of every scenario talk to: module `bench` = the data
// directory, on a free loopback port, in its own process group.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

import { log } from '../log.mjs';
import { canConnect, freePort, stopChild, track } from '../proc.mjs';

export async function startRsyncDaemon(work) {
  const isRoot = process.getuid?.() === 0;
  const conf = path.join(work.etc, 'rsyncd.conf');
  const logFile = path.join(work.etc, 'rsyncd.log');
  fs.writeFileSync(conf, [
    'use chroot = false',
    'reverse lookup = no',
    'max connections = 0',
    `pid file = ${path.join(work.etc, 'rsyncd.pid')}`,
    ...(isRoot ? ['uid = root', 'gid = root'] : []),
    '',
    '[bench]',
    `  path = ${work.data}`,
    '  read only = false',
    '  list = yes',
    '',
  ].join('\n'));
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const child = track(
      spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1', `--log-file=${logFile}`], { detached: true, stdio: 'ignore' }),
    );
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i++) {
      if (await canConnect(port)) return { child, port };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopChild(child);
    log(`bench: rsync daemon did not start on port ${port} (attempt ${attempt})`);
  }
  throw new Error(`could not start the rsync daemon; log: ${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '(none)'}`);
}
