import assert from 'node:assert/strict';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FileWriter, mtimeSeconds, NANOSECOND_UTIMES } from '../../../src/fs/file-writer.js';
import { tempDir } from '../../support/temp-dir.js';
import { prng } from '../../support/seeded-random.js';


describe('mtimeSeconds', () => {
  let file: string;
  before(async () => {
    file = join(await tempDir('pareco-unit-mtime-'), 'f');
    await writeFile(file, 'x');
  });

  /** Sets the mtime the way FileWriter does and returns what stat reads back. */
  async function roundTrip(ms: number): Promise<number> {
    await utimes(file, new Date(), mtimeSeconds(ms));
    return (await stat(file)).mtimeMs;
  }

  test('is seconds, with the half-microsecond aim', () => {
    assert.equal(Number(mtimeSeconds(0)), 0.0000005);
    assert.equal(Number(mtimeSeconds(1000)), 1.0000005);
    assert.equal(Number(mtimeSeconds(-1000)), NANOSECOND_UTIMES ? -0.9999995 : -1.0000005);
    assert.ok(Math.abs(Number(mtimeSeconds(1700000000123.456)) - 1700000000.1234565) < 1e-6);
  });

  test('fixed values read back to the same millisecond', async () => {
    const values = [0, 0.5, 1, 999.999, 1000, 1000.0001, 1700000000000, 1700000000123.4567, 1700000000123.999, 1700000000999.9999, 4102444800000.5];
    for (const ms of values) {
      const got = await roundTrip(ms);
      assert.equal(Math.floor(got), Math.floor(ms), `${ms} read back as ${got}`);
    }
  });

  test('random millisecond values with fractions read back to the same millisecond', async () => {
    const random = prng(20240601);
    for (let i = 0; i < 300; i++) {
      const whole = Math.floor(random() * 4_000_000_000_000); // 1970 … 2096
      const ms = whole + [random(), Math.floor(random() * 1000) / 1000, 1 - random() * 1e-6, random() * 1e-6][i % 4]!;
      const got = await roundTrip(ms);
      assert.equal(Math.floor(got), Math.floor(ms), `${ms} read back as ${got}`);
    }
  });

  test('the microsecond read back is the (floored) microsecond sent, for realistic mtimes', async () => {
    const random = prng(7);
    for (let i = 0; i < 200; i++) {
      const ms = random() * 2_000_000_000_000; // 1970 … 2033
      await utimes(file, new Date(), mtimeSeconds(ms));
      const ns = (await stat(file, { bigint: true })).mtimeNs;
      if (!NANOSECOND_UTIMES) assert.equal(ns % 1000n, 0n, 'utimes has microsecond resolution');
      assert.equal(ns / 1000n, BigInt(Math.floor(ms * 1000)), `${ms} read back as ${ns} ns`);
    }
  });

  test('pre-1970 mtimes (negative milliseconds, allowed by the protocol) read back to the same millisecond', async () => {
    // PROTOCOL: mtimes are milliseconds "and may precede 1970" (protocol/shape.ts num()).
    for (const ms of [-1, -1000, -1500.25, -1.0005, -86_400_000.5, -315_619_200_000.75]) {
      const got = await roundTrip(ms);
      assert.equal(Math.floor(got), Math.floor(ms), `${ms} read back as ${got}`);
    }
  });
});

describe('FileWriter.put', () => {
  test('two puts of one file at once (a request retried while the first is still running) both succeed, the later one wins', async () => {
    const dir = await tempDir('pareco-unit-put-');
    const target = join(dir, 'f.txt');
    const writer = new FileWriter({ inplace: false, fsync: false });
    for (let round = 0; round < 20; round++) {
      const meta = { mtime: 1_700_000_000_000, mode: 0o640 };
      await Promise.all([
        writer.put('f.txt', target, Buffer.from(`first ${round}`), meta),
        writer.put('f.txt', target, Buffer.from(`second ${round}`), meta),
      ]);
      assert.equal(await readFile(target, 'utf8'), `second ${round}`);
    }
    assert.deepEqual(await readdir(dir), ['f.txt'], 'no partial file left');
  });
});
