// Whole-tree file operations used to prepare and restore scenario data (none of them timed).

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { sh } from './proc.mjs';

export const rmrf = (p) => sh('rm', ['-rf', '--', p]);
export const cpTree = (from, to) => sh('cp', ['--reflink=auto', '-a', '--', from, to]);
/** Read-only sources share the base file's inode instead of copying it. */
export function link(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.linkSync(from, to);
}
/** Before every timed run, so no run pays for the previous run's writeback. */
export const syncDisks = () => spawnSync('sync');
