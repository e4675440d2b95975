import { PROTOCOL_VERSION } from '../../protocol/version.js';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadDigest } from '../../src/digest/registry.js';
import { RangeDigest } from '../../src/digest/range-digest.js';
import { openFrame, RawLane } from '../support/raw-lane.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const TOKEN = 'hostile-test-token';

/**
 * A client that breaks every rule, written with nothing but ws + msgpackr. Each attempt must be
 * refused with the right error, write nothing outside the served root, and leave the server
 * serving normal syncs.
 */
describe('hostile client', () => {
  let dir: string;
  let served: string;
  let outside: string;
  let server: ServerProcess;
  let ws: string;
  let digest: (data: Buffer) => Buffer;
  before(async () => {
    dir = await tempDir();
    served = join(dir, 'served');
    outside = join(dir, 'outside');
    await mkdir(join(served, 'area'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(outside, join(served, 'area', 'escape'));
    server = await startServerProcess(['-a', TOKEN, '--root', served, '-e', '1s'], { cwd: dir });
    ws = `ws://127.0.0.1:${server.port}/v1/ws`;
    const range = new RangeDigest(await loadDigest('xxh64'), 8192);
    digest = (data) => range.of(data);
  });

  async function session(mode: 'upload' | 'download' = 'upload'): Promise<RawLane> {
    // The previous test's lane is closed, but the server may see that close a moment after this
    // open arrives: its session still has a lane, so it keeps the directory lock. Wait it out.
    for (let attempt = 0; ; attempt++) {
      const lane = await RawLane.connect(ws, TOKEN);
      const opened = await lane.request(openFrame(join(served, 'area'), { mode }));
      if (opened.code === 'DIR_LOCKED' && attempt < 20) {
        await lane.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      assert.equal(opened.t, 'opened', JSON.stringify(opened));
      return lane;
    }
  }

  async function assertOutsideUntouched(): Promise<void> {
    assert.deepEqual((await readdir(outside)).sort(), ['secret.txt']);
    assert.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), 'secret');
  }

  test('path traversal in every field that carries a path is refused with BAD_PATH', async () => {
    const lane = await session();
    const bad = ['../outside/x', '/etc/passwd', 'a/../../x', 'a\0b', 'x'.repeat(5000), 'a//b', './a', 'escape/pwned', 'escape/secret.txt'];
    const data = Buffer.from('pwned');
    let id = 10;
    for (const path of bad) {
      const frames: Record<string, unknown>[] = [
        { t: 'stat', path },
        { t: 'hash', path, from: 0, count: 1 },
        { t: 'blocks', path, index: 0 },
        { t: 'begin', path, size: 5 },
        { t: 'commit', path, size: 5, mtime: 0, mode: 0o644 },
        { t: 'meta', path, mtime: 0, mode: 0o777 },
        { t: 'mkdir', path },
        { t: 'symlink', path, target: '/etc/passwd', mtime: 0 },
        { t: 'delete', path, recursive: true },
        { t: 'putmany', files: [{ path, size: data.length, mtime: 0, mode: 0o644, digest: digest(data) }], data },
        { t: 'readmany', files: [{ path, size: 5 }] },
        { t: 'write', path, offset: 0, size: 5, data, digest: digest(data) },
      ];
      for (const frame of frames) {
        const reply = await lane.request({ ...frame, id: id++ });
        // A path the frame's shape refuses fails the request; one refused when carried out (a
        // parent is a symlink) fails its file of a batch.
        const failure = (reply.t === 'error' ? reply : ((reply.results ?? reply.files) as Record<string, unknown>[] | undefined)?.[0]) ?? {};
        assert.equal(failure.code, 'BAD_PATH', `${frame.t} ${path.slice(0, 40)}: ${JSON.stringify(reply)}`);
      }
    }
    // A batch with one bad path among good ones is refused whole.
    const mixed = await lane.request({ t: 'readmany', id: id++, files: [{ path: 'fine.txt', size: 1 }, { path: '../outside/secret.txt', size: 6 }] });
    assert.equal(mixed.code, 'BAD_PATH');
    await assertOutsideUntouched();
    await lane.close();
  });

  test('a download session refuses every write (FORBIDDEN) and reads through a symlinked parent are refused', async () => {
    const lane = await session('download');
    const data = Buffer.from('x');
    const reply = await lane.request({ t: 'putmany', id: 2, files: [{ path: 'new.txt', size: 1, mtime: 0, mode: 0o644, digest: digest(data) }], data });
    assert.deepEqual(reply.results, [{ code: 'FORBIDDEN', message: 'new.txt: this side is the source and is never written' }]);
    const write = await lane.request({ t: 'write', id: 5, path: 'new.txt', offset: 0, size: 1, data, digest: digest(data) });
    assert.equal(write.code, 'FORBIDDEN');
    const read = await lane.request({ t: 'read', id: 3, path: 'escape/secret.txt', offset: 0, length: 6 });
    assert.equal(read.code, 'BAD_PATH');
    const linkItself = await lane.request({ t: 'read', id: 4, path: 'escape', offset: 0, length: 6 });
    assert.equal(linkItself.t, 'error', 'a symlink is never opened as a file');
    await lane.close();
  });

  test('directories outside --root are refused before anything is created', async () => {
    for (const asked of [outside, join(outside, 'new-dir'), join(served, '..', 'outside'), join(served, 'area', 'escape'), join(served, 'area', 'escape', 'deeper'), '/']) {
      const lane = await RawLane.connect(ws, TOKEN);
      const reply = await lane.request(openFrame(asked));
      assert.equal(reply.code, 'FORBIDDEN', asked);
      assert.match(String(reply.message), /outside the directories this server serves/);
      await lane.close();
    }
    await assertOutsideUntouched();
  });

  test('a planted destination symlink is replaced, never written through', async () => {
    await symlink(join(outside, 'secret.txt'), join(served, 'area', 'planted'));
    const lane = await session();
    const data = Buffer.from('overwrite attempt');
    assert.equal((await lane.request({ t: 'begin', id: 2, path: 'planted', size: data.length })).t, 'ok');
    assert.equal((await lane.request({ t: 'write', id: 3, path: 'planted', offset: 0, size: data.length, data, digest: digest(data) })).t, 'ok');
    assert.equal((await lane.request({ t: 'commit', id: 4, path: 'planted', size: data.length, mtime: 0, mode: 0o644 })).t, 'ok');
    await assertOutsideUntouched();
    assert.equal(await readFile(join(served, 'area', 'planted'), 'utf8'), 'overwrite attempt');
    assert.equal((await stat(join(served, 'area', 'planted'))).isFile(), true);
    await lane.close();
  });

  test('writes past the declared size, or with a wrong digest, are refused', async () => {
    const lane = await session();
    assert.equal((await lane.request({ t: 'begin', id: 2, path: 'sized.bin', size: 10 })).t, 'ok');
    const data = Buffer.alloc(8, 1);
    const wrong = await lane.request({ t: 'write', id: 3, path: 'sized.bin', offset: 0, size: 10, data, digest: Buffer.alloc(8) });
    assert.equal(wrong.code, 'DIGEST_MISMATCH');
    const past = await lane.request({ t: 'write', id: 4, path: 'sized.bin', offset: 2 ** 40, size: 10, data, digest: digest(data) });
    assert.equal(past.code, 'PROTOCOL');
    assert.equal((await lane.closed).code, 1002);
    const partial = await stat(join(served, 'area', '.sized.bin.pareco-partial'));
    assert.equal(partial.size, 10, 'no sparse giant');
  });

  test('names a client chooses cannot forge lines in the server log: control characters are escaped', async () => {
    const lane = await RawLane.connect(ws, TOKEN);
    const opened = await lane.request(openFrame(join(served, 'area', 'x\nsession forged opened by 10.0.0.1\x1b[2J'), { mode: 'upload' }));
    assert.equal(opened.t, 'opened', JSON.stringify(opened));
    await lane.close();
    const output = server.output();
    assert.doesNotMatch(output, /^session forged/m);
    assert.doesNotMatch(output, /\x1b/);
    assert.match(output, /x\\#012session forged opened by 10\.0\.0\.1\\#033\[2J/);
  });

  test('malformed input closes only the offending lane', async () => {
    const cases: [string, Buffer | Record<string, unknown>][] = [
      ['random bytes', Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37])],
      ['truncated frame', Buffer.from([0x85, 0xa1, 0x74])],
      ['valid msgpack, wrong shape', { t: 'list', id: 'one', seq: -1 }],
      ['unknown frame type', { t: 'rm-rf', id: 1 }],
      ['an array', Buffer.from([0x93, 0x01, 0x02, 0x03])],
      ['payload announced but too big', { t: 'write', id: 9, path: 'x', offset: 0, size: 1, digest: Buffer.alloc(8), len: 2 ** 30 }],
    ];
    const healthy = await session('download');
    for (const [what, frame] of cases) {
      const lane = await session('download');
      lane.send(frame);
      const reply = await lane.next();
      assert.equal(reply.code, 'PROTOCOL', what);
      assert.equal((await lane.closed).code, 1002, what);
    }
    // A frame over the WebSocket size limit.
    const big = await session('download');
    big.send(Buffer.alloc(90 * 1024 * 1024));
    assert.equal((await big.closed).code, 1009);
    // The other lane of the same client still works.
    assert.equal((await healthy.request({ t: 'stat', id: 77, path: 'nothing' })).t, 'stat');
    healthy.close();
  });

  test('flooding one connection with pipelined reads is cut off', async () => {
    await writeFile(join(served, 'area', 'flood.bin'), Buffer.alloc(1024 * 1024));
    const lane = await session('download');
    for (let id = 1; id <= 2000; id++) lane.send({ t: 'read', id, path: 'flood.bin', offset: 0, length: 1024 * 1024 });
    assert.equal((await lane.closed).code, 1002);
  });

  test('frames before open or join are refused; a wrong resume key is refused', async () => {
    const lane = await RawLane.connect(ws, TOKEN);
    const reply = await lane.request({ t: 'stat', id: 1, path: 'x' });
    assert.equal(reply.code, 'PROTOCOL');
    assert.match(String(reply.message), /first frame must be open or join/);
    const owner = await RawLane.connect(ws, TOKEN);
    const opened = await owner.request(openFrame(join(served, 'area'), { mode: 'download' }));
    const real = String(opened.key);
    const almost = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
    for (const key of ['', 'x', almost]) {
      const thief = await RawLane.connect(ws, TOKEN);
      const refused = await thief.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key });
      assert.equal(refused.code, 'SESSION_NOT_FOUND', JSON.stringify(refused));
      thief.close();
    }
    owner.close();
  });

  test('sessions cannot be exhausted beyond --max-sessions', async () => {
    const small = await startServerProcess(['-a', TOKEN, '--max-sessions', '3']);
    const lanes: RawLane[] = [];
    let refused: Record<string, unknown> | undefined;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const lane = await RawLane.connect(`ws://127.0.0.1:${small.port}/v1/ws`, TOKEN);
      lanes.push(lane);
      const reply = await lane.request(openFrame(join(served, 'area'), { mode: 'download' }));
      if (reply.t === 'error') refused = reply;
    }
    assert.equal(refused?.code, 'LIMIT');
    assert.equal(lanes.length, 4);
    assert.match(String(refused?.message), /--max-sessions/);
    for (const lane of lanes) lane.close();
    await small.stop();
  });

  test('wrong tokens: 401, answered more slowly each time from the same address', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await assert.rejects(RawLane.connect(ws, 'wrong'), /HTTP 401/);
      times.push(Date.now() - started);
    }
    assert.ok(times[4]! >= 600, `the fifth failure waited ${times[4]} ms`);
    assert.ok(times[4]! > times[0]!, JSON.stringify(times));
    await assert.rejects(RawLane.connect(ws), /HTTP 401/);
  });

  test('after all that, the server still serves a normal sync, inside its root', async () => {
    // Let the sessions left by the attempts above go away (they have no lanes: expiry).
    const src = join(dir, 'normal-src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'sub', 'f.txt'), 'normal');
    const restarted = await startServerProcess(['-a', TOKEN, '--root', served], { cwd: dir });
    const result = await runPareco(['-m', 'upload', '-l', src, '-r', join(served, 'normal'), '-s', restarted.url, '-a', TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await snapshotTree(join(served, 'normal')), await snapshotTree(src));
    const outsideTry = await runPareco(['-m', 'upload', '-l', src, '-r', outside, '-s', restarted.url, '-a', TOKEN]);
    assert.equal(outsideTry.code, 1);
    assert.match(outsideTry.stderr, /outside the directories this server serves/);
    // The original server too.
    const again = await runPareco(['-m', 'download', '-l', join(dir, 'dl'), '-r', join(served, 'normal'), '-s', server.url, '-a', TOKEN]);
    assert.equal(again.code, 0, again.stderr);
    await assertOutsideUntouched();
  });

  test('a read-only server refuses uploads', async () => {
    const readOnly = await startServerProcess(['--read-only']);
    const lane = await RawLane.connect(`ws://127.0.0.1:${readOnly.port}/v1/ws`);
    const reply = await lane.request(openFrame(join(dir, 'ro')));
    assert.equal(reply.code, 'FORBIDDEN');
    assert.match(String(reply.message), /read-only/);
    await lane.close();
  });
});
