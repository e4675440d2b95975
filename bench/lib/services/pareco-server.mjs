// One pareco-server per scenario, so that its VmHWM is that scenario's peak.

import path from 'node:path';

import { NODE, REPO } from '../paths.mjs';
import { startService } from '../proc.mjs';

export async function startParecoServer(work) {
  const env = { ...process.env };
  delete env.PARECO_AUTH_TOKEN;
  const s = await startService([NODE, path.join(REPO, 'bin/pareco-server.js'), '-p', '0', '--host', '127.0.0.1'], { cwd: work.data, env, re: /port: (\d+)/ });
  return { child: s.child, port: Number(s.match[1]), log: s.log };
}
