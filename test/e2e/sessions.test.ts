import { PROTOCOL_VERSION } from '../../protocol/version.js';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { loadDigest } from '../../src/digest/registry.js';
import { RangeDigest } from '../../src/digest/range-digest.js';
import { seededBytes } from '../support/make-tree.js';
import { openFrame, RawLane } from '../support/raw-lane.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

describe('sessions', () => {
  let dir: string;
  let server: ServerProcess;
  let ws: string;
  before(async () => {
    dir = await tempDir();
    server = await startServerProcess(['-e', '1s'], { cwd: dir });
    ws = `ws://127.0.0.1:${server.port}/v1/ws`;
  });

  test('open gives a session id and key; other lanes join with both; a wrong key is refused', async () => {
    const first = await RawLane.connect(ws);
    const opened = await first.request(openFrame(join(dir, 'join')));
    assert.equal(opened.t, 'opened');
    assert.equal(typeof opened.session, 'string');
    assert.ok((opened.key as string).length >= 21);
    const second = await RawLane.connect(ws);
    assert.deepEqual(await second.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key: opened.key }), { t: 'ok', id: 1 });
    const intruder = await RawLane.connect(ws);
    const refused = await intruder.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key: 'guess' });
    assert.equal(refused.code, 'SESSION_NOT_FOUND');
    first.close();
    second.close();
  });

  test('a protocol version mismatch names both versions', async () => {
    const lane = await RawLane.connect(ws);
    const reply = await lane.request(openFrame(join(dir, 'v'), { v: 99 }));
    assert.equal(reply.code, 'VERSION');
    assert.match(reply.message as string, /client speaks version 99.*speaks version \d+/);
    assert.equal((await lane.closed).code, 1002);
  });

  test('relative remote directories start at the server working directory, created when missing', async () => {
    const lane = await RawLane.connect(ws);
    const opened = await lane.request(openFrame('relative/made/here'));
    assert.equal(opened.t, 'opened');
    assert.ok((await readdir(join(dir, 'relative/made'))).includes('here'));
    lane.close();
  });

  test('two writers into overlapping directories: the second gets an error naming both', async () => {
    await mkdir(join(dir, 'd/foo/sub'), { recursive: true });
    await mkdir(join(dir, 'd/foobar'), { recursive: true });
    const holder = await RawLane.connect(ws);
    assert.equal((await holder.request(openFrame(join(dir, 'd/foo')))).t, 'opened');

    for (const clash of ['d/foo', 'd/foo/sub', 'd', 'd/foo/../foo']) {
      const lane = await RawLane.connect(ws);
      const reply = await lane.request(openFrame(join(dir, clash)));
      assert.equal(reply.code, 'DIR_LOCKED', clash);
      assert.match(reply.message as string, new RegExp(`${join(dir, 'd')}.*${join(dir, 'd/foo')}|${join(dir, 'd/foo')}.*overlaps`));
    }
    // A sibling whose name merely starts the same is no clash; nor is a reader.
    const sibling = await RawLane.connect(ws);
    assert.equal((await sibling.request(openFrame(join(dir, 'd/foobar')))).t, 'opened');
    const reader = await RawLane.connect(ws);
    assert.equal((await reader.request(openFrame(join(dir, 'd/foo'), { mode: 'download' }))).t, 'opened');

    // The CLI reports the clash as one line and exit 1.
    await mkdir(join(dir, 'cli-src'), { recursive: true });
    const cli = await runPareco(['-m', 'upload', '-l', join(dir, 'cli-src'), '-r', join(dir, 'd/foo/sub'), '-s', server.url]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr.trim(), /^pareco: error: remote directory .* overlaps .*, which another session is writing$/);
    holder.close();
    sibling.close();
    reader.close();
  });

  test('an idle session with no lane expires; a rejoin then hears "expired"', async () => {
    const lane = await RawLane.connect(ws);
    const opened = await lane.request(openFrame(join(dir, 'expiring')));
    lane.close();
    await lane.closed;
    await sleep(1800);
    const again = await RawLane.connect(ws);
    const reply = await again.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key: opened.key });
    assert.equal(reply.code, 'SESSION_EXPIRED');
    assert.match(server.output(), /expired/);
  });

  test('a session with a connected lane does not expire', async () => {
    const lane = await RawLane.connect(ws);
    const opened = await lane.request(openFrame(join(dir, 'kept')));
    await sleep(1800);
    const other = await RawLane.connect(ws);
    assert.equal((await other.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key: opened.key })).t, 'ok');
    lane.close();
    other.close();
  });

  test('many concurrent sessions on one server', async () => {
    const jobs = Array.from({ length: 6 }, async (_, i) => {
      const src = join(dir, `many-src${i}`);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'data.bin'), seededBytes(512 * 1024 + i, `many${i}`));
      const mode = i % 2 === 0 ? 'upload' : 'download';
      const dst = join(dir, `many-dst${i}`);
      const args = mode === 'upload' ? ['-l', src, '-r', dst] : ['-l', dst, '-r', src];
      const result = await runPareco(['-m', mode, ...args, '-s', server.url, '-n', '4', '-c', '64K']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
    });
    await Promise.all(jobs);
  });

  test('SIGTERM drains: after --drain-timeout the running session is ended, partial files kept, exit 0', async () => {
    const own = await startServerProcess(['--drain-timeout', '500ms'], { cwd: dir });
    const lane = await RawLane.connect(`ws://127.0.0.1:${own.port}/v1/ws`);
    await lane.request(openFrame(join(dir, 'shutdown')));
    const data = Buffer.alloc(1000, 3);
    assert.equal((await lane.request({ t: 'begin', id: 2, path: 'f.bin', size: 2000 })).t, 'ok');
    const digest = new RangeDigest(await loadDigest('xxh64'), 8192).of(data);
    assert.equal((await lane.request({ t: 'write', id: 3, path: 'f.bin', offset: 0, size: data.length, data, digest })).t, 'ok');
    const stopping = Date.now();
    assert.equal(await own.stop('SIGTERM'), 0);
    assert.ok(Date.now() - stopping >= 450, 'the running session had its drain time');
    assert.match(own.output(), /shutting down/);
    assert.match(own.output(), /^drain timeout: ending 1 session now \(partial files are kept\)$/m);
    const partial = await readFile(join(dir, 'shutdown/.f.bin.pareco-partial'));
    assert.deepEqual(partial.subarray(0, 1000), data);
  });
});
