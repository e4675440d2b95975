import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/**
 * Bytes a process has read so far (`rchar` of /proc/<pid>/io: every byte read() returned, from
 * the page cache or not; pages of a memory mapping are not reads). Linux only.
 */
export async function bytesRead(pid: number | 'self'): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const match = /^rchar: (\d+)$/m.exec(io);
  if (match === null) throw new Error(`no rchar in /proc/${pid}/io`);
  return Number(match[1]);
}

/** Runs the CLI through a probe that writes its rchar to `outFile` on exit: `command` for runPareco. */
export function countingReads(outFile: string): (args: string[]) => string[] {
  const probe = join(REPO_ROOT, 'dist/test/support/read-probe.js');
  return (args) => [process.execPath, probe, outFile, ...args];
}

/** The rchar a probed run wrote. */
export async function probedReads(outFile: string): Promise<number> {
  const match = /^rchar: (\d+)$/m.exec(await readFile(outFile, 'utf8'));
  if (match === null) throw new Error(`no rchar in ${outFile}`);
  return Number(match[1]);
}
