import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonLine, plainLine } from '../../../src/server/server-log.js';

describe('server log events', () => {
  test('plain lines keep the wording scripts and tests match', () => {
    assert.equal(
      plainLine({ event: 'session-opened', session: 's1', client: '10.0.0.1:5', mode: 'upload', dry: true, dir: '/d' }),
      'session s1 opened by 10.0.0.1:5: upload (dry run) /d',
    );
    assert.equal(plainLine({ event: 'lane-joined', session: 's1', client: 'c', lanes: 3 }), 'session s1 joined by c (3 connections)');
    assert.equal(
      plainLine({ event: 'session-ended', session: 's1', reason: 'closed', mode: 'download', dir: '/d', client: 'c', bytesReceived: 1, bytesSent: 2, cachedFiles: 0, cachedBytes: 0, durationMs: 1234 }),
      'session s1 closed: download /d for c, 1 bytes in, 2 bytes out, 1.2s',
    );
    assert.equal(
      plainLine({ event: 'session-ended', session: 's1', reason: 'closed', mode: 'upload', dir: '/d', client: 'c', bytesReceived: 0, bytesSent: 9, cachedFiles: 3, cachedBytes: 300, durationMs: 100 }),
      'session s1 closed: upload /d for c, 0 bytes in, 9 bytes out, digests of 3 files (300 bytes) from the cache, 0.1s',
    );
    assert.equal(plainLine({ event: 'digest-cache', dir: '/var/cache/pareco' }), 'digest cache in /var/cache/pareco');
    assert.equal(plainLine({ event: 'digest-cache', dir: null }), 'no digest cache: every file compared is read');
    assert.equal(plainLine({ event: 'lane-closed', client: 'c', code: 'PROTOCOL', error: 'bad frame' }), 'lane from c closed: bad frame');
    assert.equal(plainLine({ event: 'listening', version: '1.2.3', host: '::', port: 8080, url: 'ws://[::]:8080/v1/ws' }), 'pareco-server 1.2.3 listening on :: port: 8080 (ws://[::]:8080/v1/ws)');
    assert.equal(plainLine({ event: 'drain-aborted', sessions: 1, why: 'timeout' }), 'drain timeout: ending 1 session now (partial files are kept)');
  });

  test('a JSON line: time, level and event first, the fields after, on one line whatever the text holds', () => {
    const line = jsonLine(
      { event: 'lane-error', client: 'c', error: 'x\n\u001b[2J\u2028y\u2029' },
      new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
    );
    assert.doesNotMatch(line, /[\n\r\u001b\u2028\u2029]/);
    assert.ok(line.startsWith('{"time":"2026-01-02T03:04:05.006Z","level":"warn","event":"lane-error",'), line);
    assert.deepEqual(JSON.parse(line), { time: '2026-01-02T03:04:05.006Z', level: 'warn', event: 'lane-error', client: 'c', error: 'x\n\u001b[2J\u2028y\u2029' });
    assert.equal((JSON.parse(jsonLine({ event: 'drained' })) as { level: string }).level, 'info');
  });
});
