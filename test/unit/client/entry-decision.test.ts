import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../../../protocol/index.js';
import { decide, type Decision } from '../../../src/client/entry-decision.js';

const e = (kind: Entry['kind'], extra: Partial<Entry> = {}): Entry => ({ path: 'p', kind, size: 10, mtime: 1000, mode: 0o644, ...extra });
const D1 = Buffer.from('0123456789abcdef', 'hex');
const D2 = Buffer.from('0123456789abcdee', 'hex');
const settings = { smallFile: 100, skipDigest: false, inplace: false };
const d = (src: Entry | undefined, dst: Entry | undefined, over: Partial<typeof settings> = {}): Decision => decide({ path: 'p', src, dst }, { ...settings, ...over });

test('what each pair of entries needs', () => {
  const cases: [Entry | undefined, Entry | undefined, Partial<typeof settings>, Decision][] = [
    [e('f'), undefined, {}, { kind: 'file', plan: 'put', replace: false }],
    [e('f', { size: 101 }), undefined, {}, { kind: 'file', plan: 'write', replace: false }],
    [e('f'), e('f'), {}, { kind: 'file', plan: 'compare', replace: false }],
    [e('f'), e('f'), { skipDigest: true }, { kind: 'uptodate', fixMeta: false }],
    [e('f'), e('f', { mode: 0o600 }), { skipDigest: true }, { kind: 'uptodate', fixMeta: true }],
    // Both listings carry the whole file's digest: settled without a request.
    [e('f', { digest: D1 }), e('f', { digest: D1 }), {}, { kind: 'uptodate', fixMeta: false }],
    [e('f', { digest: D1 }), e('f', { digest: D1, mtime: 2000 }), {}, { kind: 'uptodate', fixMeta: true }],
    [e('f', { digest: D1 }), e('f', { digest: D2 }), {}, { kind: 'file', plan: 'compare', replace: false }],
    [e('f', { digest: D1 }), e('f', { digest: D1, size: 11 }), {}, { kind: 'file', plan: 'compare', replace: false }],
    // A partial file's digest is not the file's.
    [e('f', { digest: D1 }), e('f', { digest: D1, partial: true }), {}, { kind: 'file', plan: 'compare', replace: false }],
    [e('f', { digest: D1 }), e('f'), {}, { kind: 'file', plan: 'compare', replace: false }],
    [e('f'), e('f', { mtime: 2000 }), { skipDigest: true }, { kind: 'file', plan: 'compare', replace: false }],
    [e('f'), e('p'), {}, { kind: 'file', plan: 'compare', replace: false }],
    [e('f'), e('p'), { inplace: true }, { kind: 'file', plan: 'put', replace: false }],
    [e('f'), e('d'), {}, { kind: 'file', plan: 'put', replace: true }],
    [e('d'), undefined, {}, { kind: 'directory', create: true, replace: false }],
    [e('d'), e('d'), {}, { kind: 'directory', create: false, replace: false }],
    [e('d'), e('f'), {}, { kind: 'directory', create: true, replace: true }],
    [e('l', { target: 'a' }), e('l', { target: 'a' }), {}, { kind: 'symlink', create: false, replace: false }],
    [e('l', { target: 'a' }), e('l', { target: 'b' }), {}, { kind: 'symlink', create: true, replace: false }],
    [e('l', { target: 'a' }), e('f'), {}, { kind: 'symlink', create: true, replace: true }],
    [e('o'), undefined, {}, { kind: 'special' }],
    [undefined, e('f'), {}, { kind: 'extra' }],
    [undefined, e('p'), {}, { kind: 'stale-partial' }],
  ];
  for (const [src, dst, over, expected] of cases) assert.deepEqual(d(src, dst, over), expected, `${src?.kind ?? '-'} / ${dst?.kind ?? '-'} ${JSON.stringify(over)}`);
});

test('an unreadable entry on either side is a failure, whatever the other side has', () => {
  const x = e('x', { error: 'p: cannot read' });
  assert.deepEqual(d(x, e('f')), { kind: 'unreadable', entry: x });
  assert.deepEqual(d(e('f'), x), { kind: 'unreadable', entry: x });
  assert.deepEqual(d(undefined, x), { kind: 'unreadable', entry: x });
});
