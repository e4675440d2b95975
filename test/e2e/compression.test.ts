import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { compressionAvailable, PayloadCompressor } from '../../protocol/index.js';
import { loadDigest } from '../../src/digest/registry.js';
import { RangeDigest } from '../../src/digest/range-digest.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { openFrame, RawLane } from '../support/raw-lane.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const MiB = 1024 * 1024;

/** Text that compresses well (log-like lines), `size` bytes. */
function text(size: number, seed: string): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${seed} ${i} INFO request handled in ${(i * 7) % 1000} ms for user ${(i * 13) % 97}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/** Compressible files (small and multi-chunk) and an incompressible one. */
async function makeSource(root: string, seed: string): Promise<{ compressible: number; random: number }> {
  const small = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`logs/app${i}.log`, text(40_000 + i, `${seed}${i}`)]));
  const big = text(6 * MiB + 5, seed);
  const random = seededBytes(2 * MiB + 3, seed);
  await makeTree(root, { ...small, 'big.log': big, 'random.bin': random, 'empty': '' });
  return { compressible: Object.values(small).reduce((sum, data) => sum + data.length, 0) + big.length, random: random.length };
}

const wire = (result: CliResult) => result.summary?.wire as { sent: number; received: number; compressed: boolean };

describe('compression (-z)', { skip: compressionAvailable() ? undefined : 'zstd-napi cannot be loaded here' }, () => {
  let dir: string;
  let server: ServerProcess;
  before(async () => {
    dir = await tempDir();
    server = await startServerProcess(['--no-cache']);
  });

  const sync = (mode: 'upload' | 'download', source: string, dest: string, extra: string[] = []) => {
    const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
    return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', server.url, '--json', '--no-cache', ...extra]);
  };

  for (const mode of ['upload', 'download'] as const) {
    test(`${mode}: an exact copy, with compressible data sent in a fraction of its size and random data as it is`, async () => {
      const [source, dest] = [join(dir, `${mode}-src`), join(dir, `${mode}-dst`)];
      const { compressible, random } = await makeSource(source, mode);
      const result = await sync(mode, source, dest, ['-z']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      const { sent, received, compressed } = wire(result);
      assert.equal(compressed, true);
      const payloadWay = mode === 'upload' ? sent : received;
      // Random data cannot shrink: it travels as it is (plus frames); the text shrinks many times.
      assert.ok(payloadWay > random, `${payloadWay} bytes on the wire hold the ${random} random bytes`);
      assert.ok(payloadWay < random + compressible / 4, `${payloadWay} bytes on the wire for ${compressible} compressible bytes`);

      // The same without -z: everything as it is.
      const plain = await sync(mode, source, join(dir, `${mode}-plain`));
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(wire(plain).compressed, false);
      assert.ok((mode === 'upload' ? wire(plain).sent : wire(plain).received) > random + compressible);
    });

    test(`${mode}: changed blocks of a big file travel compressed too, and the copy is exact`, async () => {
      const [source, dest] = [join(dir, `${mode}-delta-src`), join(dir, `${mode}-delta-dst`)];
      await makeSource(source, `${mode}-delta`);
      assert.equal((await sync(mode, source, dest, ['-z'])).code, 0);
      const file = await open(join(source, 'big.log'), 'r+');
      for (const offset of [100_000, 2 * MiB + 7, 5 * MiB]) await file.write(text(20_000, `changed ${offset}`), 0, 20_000, offset);
      await file.close();
      const result = await sync(mode, source, dest, ['--compress-level', '19']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      assert.ok(wire(result).compressed, '--compress-level implies --compress');
      assert.ok((result.summary?.bytesTransferred as number) >= 60_000);
    });
  }

  test('a compression level outside 1–19 is a usage error', async () => {
    for (const level of ['0', '20', 'fast']) {
      const result = await runPareco(['-m', 'upload', '-l', dir, '-r', join(dir, 'x'), '--compress-level', level]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^pareco: option '--compress-level <n>' argument '.*' is invalid/);
    }
  });

  describe('a peer sending bad compressed payloads', () => {
    let digest: (data: Buffer) => Buffer;
    before(async () => {
      const range = new RangeDigest(await loadDigest('xxh64'), 8192);
      digest = (data) => range.of(data);
    });

    /** Sends a write whose payload is `payload` announced as `raw` bytes; returns how the server answered. */
    async function writeCompressed(name: string, payload: Buffer, raw: number, data: Buffer): Promise<{ reply: Record<string, unknown>; closed: { code: number } }> {
      const lane = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`);
      const opened = await lane.request(openFrame(join(dir, `hostile-${name}`), { zstd: 3 }));
      assert.equal(opened.t, 'opened', JSON.stringify(opened));
      assert.equal(opened.zstd, true);
      lane.send({ t: 'write', id: 2, path: 'f', offset: 0, size: data.length, digest: digest(data), len: payload.length, raw });
      lane.send(payload);
      const reply = await lane.next();
      return { reply, closed: await lane.closed };
    }

    test('more data than announced (a decompression bomb) closes the lane with a protocol error; nothing is written', async () => {
      const zeros = Buffer.alloc(MiB);
      const bomb = new PayloadCompressor(3).compress(zeros)!;
      const { reply, closed } = await writeCompressed('bomb', bomb, 100, zeros.subarray(0, 100));
      assert.equal(reply.code, 'PROTOCOL');
      assert.match(reply.message as string, /compressed payload cannot be decompressed/);
      assert.equal(closed.code, 1002);
    });

    test('garbage that is no zstd, or less data than announced: refused the same way', async () => {
      const garbage = await writeCompressed('garbage', seededBytes(1000, 'not zstd'), 5000, Buffer.alloc(5000));
      assert.equal(garbage.reply.code, 'PROTOCOL');
      const data = text(50_000, 'short');
      const short = await writeCompressed('short', new PayloadCompressor(3).compress(data)!, data.length + 1, Buffer.concat([data, Buffer.from('x')]));
      assert.equal(short.reply.code, 'PROTOCOL');
      assert.match(short.reply.message as string, /holds 50000 bytes where 50001 were announced|cannot be decompressed/);
    });

    test('an open asking for a level outside 1–19 is a protocol error', async () => {
      for (const zstd of [0, 20, 'fast']) {
        const lane = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`);
        const reply = await lane.request(openFrame(join(dir, 'hostile-level'), { zstd }));
        assert.equal(reply.code, 'PROTOCOL', JSON.stringify(reply));
        assert.match(reply.message as string, /zstd must be/);
        await lane.closed;
      }
    });

    test('a raw size beyond the session limit is refused before anything is decompressed', async () => {
      const data = text(50_000, 'big raw');
      const { reply } = await writeCompressed('limit', new PayloadCompressor(3).compress(data)!, 1024 * MiB, data);
      assert.equal(reply.code, 'PROTOCOL');
      assert.match(reply.message as string, /raw must be an integer from 0 to/);
    });
  });

  test('a server started fine still serves a normal sync after all that', async () => {
    const [source, dest] = [join(dir, 'after-src'), join(dir, 'after-dst')];
    await makeSource(source, 'after');
    const result = await sync('upload', source, dest, ['-z']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
  });
});
