// /proc/<pid>/io: what a process read. rchar counts every byte read() returned (files from the
// page cache, sockets, the modules Node loads); read_bytes only what came from storage, so with a
// warm page cache it stays near 0 even when a file is read in full.

import fs from 'node:fs';

export function parseProcIo(text) {
  const get = (k) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rchar: get('rchar'), readBytes: get('read_bytes') };
}

export function readProcIo(pid) {
  try {
    return parseProcIo(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  } catch {
    return null;
  }
}

/** What was read between two readings of the same process. */
export function ioDelta(before, after) {
  if (!before || !after) return null;
  return { rchar: after.rchar - before.rchar, readBytes: after.readBytes - before.readBytes };
}
