// A pareco-server on a free loopback port, serving the data directory. Normally one per
// scenario (so its VmHWM is that scenario's peak); `args` and `env` carry its cache settings.

import path from 'node:path';

import { NODE, REPO } from '../paths.mjs';
import { startService } from '../proc.mjs';

export async function startParecoServer(work, { args = [], env: extraEnv = {} } = {}) {
  const env = { ...process.env, ...extraEnv };
  delete env.PARECO_AUTH_TOKEN;
  const s = await startService([NODE, path.join(REPO, 'bin/pareco-server.js'), '-p', '0', '--host', '127.0.0.1', ...args], { cwd: work.data, env, re: /port: (\d+)/ });
  return { child: s.child, port: Number(s.match[1]), log: s.log };
}
