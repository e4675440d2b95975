import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemize } from '../../../src/cli/itemize.js';
import type { SyncEvent } from '../../../src/client/sync-report.js';

const file = (extra: Partial<Extract<SyncEvent, { type: 'file' }>>): SyncEvent => ({
  type: 'file',
  path: 'dir/a.txt',
  action: 'update',
  size: 10,
  bytesSent: 4,
  mtime: 2000,
  mode: 0o644,
  ...extra,
});

test('files: new, changed data, size, time and permissions, metadata only, up to date', () => {
  assert.equal(itemize(file({ action: 'new' }), 'upload'), '<f+++++++++ dir/a.txt');
  assert.equal(itemize(file({ action: 'new' }), 'download'), '>f+++++++++ dir/a.txt');
  assert.equal(itemize(file({ before: { size: 9, mtime: 1000, mode: 0o644 } }), 'download'), '>fcst...... dir/a.txt');
  assert.equal(itemize(file({ before: { size: 10, mtime: 2000.4, mode: 0o600 } }), 'upload'), '<fc..p..... dir/a.txt');
  assert.equal(itemize(file({ action: 'metadata', bytesSent: 0, before: { size: 10, mtime: 1000, mode: 0o644 } }), 'upload'), '.f..t...... dir/a.txt');
  assert.equal(itemize(file({ action: 'uptodate', bytesSent: 0, before: { size: 10, mtime: 2000, mode: 0o644 } }), 'upload'), undefined);
});

test('directories, symlinks, deletions; other events print nothing', () => {
  assert.equal(itemize({ type: 'mkdir', path: 'd' }, 'upload'), 'cd+++++++++ d/');
  assert.equal(itemize({ type: 'symlink', path: 'l', target: '../t' }, 'download'), 'cL+++++++++ l -> ../t');
  assert.equal(itemize({ type: 'delete', path: 'old', kind: 'file' }, 'upload'), '*deleting   old');
  assert.equal(itemize({ type: 'delete', path: 'olddir', kind: 'dir' }, 'upload'), '*deleting   olddir/');
  assert.equal(itemize({ type: 'chunk', path: 'x', offset: 0, length: 1 }, 'upload'), undefined);
  assert.equal(itemize({ type: 'plan', files: 1, bytes: 1, complete: true }, 'upload'), undefined);
});
