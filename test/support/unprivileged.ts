import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolsRequired } from './external-tool.js';
import { CLIENT_BIN } from './paths.js';
import { testCacheHome } from './run-cli.js';

/** How to run the CLI or the server as a user whose permissions count (root's do not). */
export interface Unprivileged {
  uid: number;
  gid: number;
  /** The command line to spawn for `node args…` as that user. */
  command(args: string[]): string[];
}

const NOBODY = 65534;

/**
 * Ourselves when we are not root; `nobody` through setpriv when we are (CI runs as root). The
 * Node binary must be one `nobody` may run: Node fetched by npx lives under /root, so it is
 * copied out when needed. A string is the reason these tests cannot run here (with
 * PARECO_REQUIRE_TOOLS=1 that is an error instead).
 */
export function unprivileged(): Unprivileged | string {
  const uid = process.getuid?.();
  if (uid === undefined) return 'no user ids on this platform';
  if (uid !== 0) return { uid, gid: process.getgid!(), command: (args) => [process.execPath, ...args] };
  // With a cache home of its own: root's is not nobody's to write.
  const asNobody = (node: string) => ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'env', `XDG_CACHE_HOME=${testCacheHome(NOBODY)}`, node];
  const works = (node: string) => spawnSync(asNobody(node)[0]!, [...asNobody(node).slice(1), CLIENT_BIN, '--version']).status === 0;
  let node = process.execPath;
  if (!works(node)) {
    const dir = mkdtempSync(join(tmpdir(), 'pareco-node-'));
    chmodSync(dir, 0o755);
    node = join(dir, 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
  }
  if (!works(node)) {
    const reason = 'cannot run pareco as nobody (setpriv missing, or the checkout is not readable by nobody)';
    if (toolsRequired()) throw new Error(`PARECO_REQUIRE_TOOLS=1 but ${reason}`);
    return reason;
  }
  return { uid: NOBODY, gid: NOBODY, command: (args) => [...asNobody(node), ...args] };
}

/** Gives a tree (and its root) to `user`, without following symlinks. */
export async function chownTree(path: string, user: Unprivileged): Promise<void> {
  await lchown(path, user.uid, user.gid);
  if (!(await lstat(path)).isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), user);
}
