import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Packr } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { onCleanup } from '../support/cleanup.js';
import { runPareco } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';

const packr = new Packr({ useRecords: false });

/**
 * A fake server that speaks just enough of the protocol to open a session, then answers with
 * whatever `answer` returns: the download client must not be led outside --local-dir.
 */
async function hostileServer(answer: (request: Record<string, unknown>, ws: WebSocket) => unknown): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  onCleanup(() => new Promise((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close(resolve);
  }));
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const request = packr.unpack(data as Buffer) as Record<string, unknown>;
      if (request.t === 'open') ws.send(packr.pack({ t: 'opened', id: request.id, session: 's1', key: 'k'.repeat(32), server: 'evil' }));
      else if (request.t === 'join') ws.send(packr.pack({ t: 'ok', id: request.id }));
      else {
        const reply = answer(request, ws);
        if (reply !== undefined) ws.send(packr.pack(reply));
      }
    });
  });
  return `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

const entry = (path: string, kind = 'f', size = 4) => ({ path, kind, size, mtime: 1_700_000_000_000, mode: 0o644 });

describe('hostile server (download direction)', () => {
  for (const [name, entries] of [
    ['a path with ..', [entry('../escaped.txt')]],
    ['an absolute path', [entry('/tmp/escaped.txt')]],
    ['a path with NUL', [entry('a\0b')]],
    ['a file under a symlink it also lists', [entry('link', 'l', 0), entry('link/escaped.txt')]],
  ] as const) {
    test(`refuses ${name}; nothing is written outside --local-dir`, async () => {
      const dir = await tempDir();
      const local = join(dir, 'local');
      await mkdir(local);
      const url = await hostileServer((request) => {
        if (request.t === 'list') {
          const listed = (entries as readonly ReturnType<typeof entry>[]).map((e) => (e.kind === 'l' ? { ...e, target: dir } : e));
          return { t: 'entries', id: request.id, entries: request.seq === 0 ? listed : [], done: request.seq !== 0 };
        }
        if (request.t === 'readmany') return { t: 'datamany', id: request.id, len: 4, files: [{ size: 4, digest: Buffer.alloc(8), mtime: 1_700_000_000_000 }] };
        return { t: 'error', id: request.id, code: 'NOT_FOUND', message: 'no' };
      });
      // A read is announced and never answered: the request times out instead of hanging.
      const result = await runPareco(['-m', 'download', '-l', local, '-r', '/x', '-s', url, '-n', '1', '--retries', '0', '-t', '2s'], { timeoutMs: 20_000 });
      assert.notEqual(result.code, 0, result.stdout);
      assert.notEqual(result.code, null, 'the client did not hang');
      assert.deepEqual((await readdir(dir)).sort(), ['local']);
      assert.ok(!(await readdir(local)).includes('escaped.txt'));
    });
  }

  test('data that does not match its digest is never written', async () => {
    const dir = await tempDir();
    const local = join(dir, 'local');
    const url = await hostileServer((request, ws) => {
      if (request.t === 'list') return { t: 'entries', id: request.id, entries: request.seq === 0 ? [entry('f.txt')] : [], done: request.seq !== 0 };
      if (request.t === 'readmany') {
        ws.send(packr.pack({ t: 'datamany', id: request.id, len: 4, files: [{ size: 4, digest: Buffer.alloc(8), mtime: 1_700_000_000_000 }] }));
        ws.send(Buffer.from('evil'));
        return undefined;
      }
      return { t: 'error', id: request.id, code: 'NOT_FOUND', message: 'no' };
    });
    const result = await runPareco(['-m', 'download', '-l', local, '-r', '/x', '-s', url, '-n', '1', '--json'], { timeoutMs: 20_000 });
    assert.equal(result.code, 23, result.stderr + result.stdout);
    assert.ok(result.events.some((e) => e.type === 'error' && e.code === 'DIGEST_MISMATCH'));
    assert.deepEqual(await readdir(local), []);
  });

  test('an oversized payload from the server closes the connection instead of filling memory', async () => {
    const dir = await tempDir();
    const local = join(dir, 'local');
    const url = await hostileServer((request, ws) => {
      if (request.t === 'list') return { t: 'entries', id: request.id, entries: request.seq === 0 ? [entry('f.txt', 'f', 10)] : [], done: request.seq !== 0 };
      if (request.t === 'readmany') ws.send(Buffer.alloc(64 * 1024 * 1024));
      return undefined;
    });
    const result = await runPareco(['-m', 'download', '-l', local, '-r', '/x', '-s', url, '-n', '1', '-c', '64K', '--retries', '0'], { timeoutMs: 20_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await readdir(local), []);
  });
});
