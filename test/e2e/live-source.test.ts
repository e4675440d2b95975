import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { seededBytes } from '../support/make-tree.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/** Waits until a partial file shows up in `dir`, i.e. the transfer of a file has begun. */
async function waitForPartial(dir: string, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith('.pareco-partial'))) return true;
    await sleep(2);
  }
  return false;
}

for (const mode of ['upload', 'download'] as const) {
  describe(`live source (${mode})`, () => {
    let dir: string;
    let server: ServerProcess;
    before(async () => {
      dir = await tempDir();
      server = await startServerProcess([]);
    });

    // Small chunks over one lane make the copy of a 24 MiB file take long enough to act in.
    const slow = ['-n', '1', '-c', '4K', '--json'];
    const run = (src: string, dst: string) =>
      runPareco(['-m', mode, ...(mode === 'upload' ? ['-l', src, '-r', dst] : ['-l', dst, '-r', src]), '-s', server.url, ...slow]);

    test('a source file that vanishes mid-transfer is reported, the rest goes on, exit 24', async () => {
      const src = join(dir, 'vanish-src');
      const dst = join(dir, 'vanish-dst');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'doomed.bin'), seededBytes(24 * 1024 * 1024, 'doomed'));
      await writeFile(join(src, 'other.txt'), 'still copied');
      const stop = new AbortController();
      const remover = waitForPartial(dst, stop.signal).then(async (seen) => {
        if (seen) await rm(join(src, 'doomed.bin'));
      });
      const result = await run(src, dst);
      stop.abort();
      assert.equal(await remover.then(() => true), true);
      assert.equal(result.code, 24, result.stderr + result.stdout.slice(-2000));
      const warning = result.events.find((e) => e.type === 'warning' && e.path === 'doomed.bin');
      assert.ok(warning, 'a warning names the file');
      assert.match(warning.message as string, /doomed\.bin: file vanished/);
      assert.equal(result.summary?.ok, false);
      assert.equal(result.summary?.filesChanged, 1);
      assert.deepEqual((await snapshotTree(dst))['other.txt']?.size, 12);
      assert.ok(!(await readdir(dst)).includes('doomed.bin'), 'no torn target');
    });

    test('a file written to during the transfer is reported (exit 24); the next run makes an exact copy', async () => {
      const src = join(dir, 'grow-src');
      const dst = join(dir, 'grow-dst');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'live.db'), seededBytes(24 * 1024 * 1024, 'live'));
      const stop = new AbortController();
      const writer = waitForPartial(dst, stop.signal).then(async (seen) => {
        if (!seen) return;
        await appendFile(join(src, 'live.db'), seededBytes(100_000, 'appended'));
      });
      const result = await run(src, dst);
      stop.abort();
      await writer;
      assert.equal(result.code, 24, result.stderr + result.stdout.slice(-2000));
      assert.ok(result.events.some((e) => e.type === 'warning' && /live\.db: file changed/.test(e.message as string)));
      const second = await run(src, dst);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));
    });
  });
}
