// The Pareco build that gets measured: the dist/ that is there (with a warning when src/ is
// newer), or a fresh `npm run build` when there is none.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { log } from './log.mjs';
import { REPO } from './paths.mjs';
import { sh } from './proc.mjs';

const built = () => fs.existsSync(path.join(REPO, 'dist/src/cli/client-cli.js')) && fs.existsSync(path.join(REPO, 'dist/src/cli/server-cli.js'));

function newestMtime(dir) {
  let t = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else t = Math.max(t, fs.statSync(p).mtimeMs);
    }
  };
  try { walk(dir); } catch { /* ignore */ }
  return t;
}

/** Returns 'ok', 'stale' (dist/ older than src/) or 'built'. */
export function ensureBuilt() {
  if (built()) {
    if (newestMtime(path.join(REPO, 'src')) > newestMtime(path.join(REPO, 'dist/src'))) {
      log('bench: warning: src/ is newer than dist/ — measuring the existing build (run `npm run build` to refresh)');
      return 'stale';
    }
    return 'ok';
  }
  // Someone else may be building right now (the build removes dist/ first): give it a moment.
  for (let i = 0; i < 30 && !built(); i++) spawnSync('sleep', ['1']);
  if (built()) return 'ok';
  log('bench: dist/ missing, running npm run build …');
  sh('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
  return 'built';
}
