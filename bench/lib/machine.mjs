// Facts about the machine and the build, recorded with every result.

import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';

import { GiB } from './format.mjs';
import { REPO } from './paths.mjs';
import { TIME_BIN } from './proc.mjs';

const yesNo = (b) => (b ? 'yes' : 'missing');

export function machineInfo(workDir, buildState, features) {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  const nproc = spawnSync('nproc', [], { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
  const rsyncVersion = spawnSync('rsync', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim().replace(/\s+/g, ' ');
  const git = (args) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout?.trim() || null;
  const rev = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'protocol']);
  const fsType = spawnSync('df', ['-T', workDir], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/)[1] ?? '?';
  return {
    nproc: Number(nproc),
    cpu,
    node: process.version,
    rsync: rsyncVersion,
    kernel: `${os.type()} ${os.release()}`,
    memTotalGiB: +(os.totalmem() / GiB).toFixed(1),
    pareco: `${rev ?? '?'}${dirty ? ' + uncommitted changes in src/' : ''}${buildState === 'stale' ? ' (dist/ older than src/)' : ''}`,
    parecoHasBlockOption: features.client.block,
    parecoOptions: `client --no-cache ${yesNo(features.client.noCache)}, --compress ${yesNo(features.client.compress)}, --compress-level ${yesNo(features.client.compressLevel)}; ` +
      `server --no-cache ${yesNo(features.server.noCache)}, --cache-dir ${yesNo(features.server.cacheDir)}`,
    dataDir: `${workDir} (${fsType})`,
    loadAvgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    rssProbe: TIME_BIN ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS (bench/rss-wrap.mjs)',
  };
}
