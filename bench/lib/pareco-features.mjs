// Options of the Pareco build under test, read from its --help: scenarios use an option this
// round is adding only when the build has it, and their row says which one was missing.

import { spawnSync } from 'node:child_process';

import { NODE, REPO } from './paths.mjs';

const helpOf = (bin) => spawnSync(NODE, [bin, '--help'], { cwd: REPO, encoding: 'utf8' }).stdout ?? '';
const has = (help, option) => new RegExp(`(^|[\\s,])${option}(?![\\w-])`, 'm').test(help);

export function parecoFeatures() {
  const client = helpOf('bin/pareco.js');
  const server = helpOf('bin/pareco-server.js');
  return {
    client: {
      block: has(client, '--block'),
      noCache: has(client, '--no-cache'),
      compress: has(client, '--compress'),
      compressLevel: has(client, '--compress-level'),
    },
    server: {
      noCache: has(server, '--no-cache'),
      cacheDir: has(server, '--cache-dir'),
    },
  };
}

/**
 * [option] when the build has it; otherwise [], and the option's name goes to `missing` (shown
 * in the scenario's row).
 */
export function ifSupported(supported, option, missing) {
  if (supported) return [option];
  if (!missing.includes(option)) missing.push(option);
  return [];
}
