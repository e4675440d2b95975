import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import module from 'node:module';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

// The programs keep V8's compiled code of their bundle in the user's cache directory
// (src/cli/bundle-loader.ts): Node >= 22.1 with its own compile cache, Node 20 with ours.
const nodeKeepsIt = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const ours = nodeKeepsIt ? 'Node 20 only: this Node keeps its own compile cache' : false;

describe('compiled code kept between runs', () => {
  let server: ServerProcess;
  let source: string;
  before(async () => {
    server = await startServerProcess();
    source = await tempDir();
    await makeTree(source, { 'a.bin': seededBytes(300_000, 'a'), 'd/b.txt': 'bee\n' });
  });

  /** A fresh cache home, and a sync into a fresh destination run with it. */
  async function syncWith(home: string, env: NodeJS.ProcessEnv = {}) {
    const dest = await tempDir();
    const result = await runPareco(['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '--log-level', 'quiet'], { env: { XDG_CACHE_HOME: home, ...env } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
    return result;
  }

  const codeFiles = async (home: string) => (await readdir(join(home, 'pareco', 'code')).catch(() => [])).filter((name) => !name.startsWith('pareco-server-'));

  test('a sync leaves the compiled code in $XDG_CACHE_HOME/pareco/code; the next run uses it as it is', async () => {
    const home = await tempDir();
    await syncWith(home);
    const files = await codeFiles(home);
    assert.ok(files.length > 0, 'nothing kept');
    if (nodeKeepsIt) return;
    assert.equal(files.length, 1, files.join(' '));
    const file = join(home, 'pareco', 'code', files[0]!);
    assert.match(files[0]!, /^pareco-[0-9a-f]{24}\.v8$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const before = await readFile(file);
    const { mtimeMs } = await stat(file);
    await syncWith(home);
    assert.deepEqual(await codeFiles(home), files);
    assert.equal((await stat(file)).mtimeMs, mtimeMs, 'a cache V8 accepted was written again');
    assert.deepEqual(await readFile(file), before);
  });

  test('a damaged cache is not trusted: the run compiles and replaces it', { skip: ours }, async () => {
    const home = await tempDir();
    await syncWith(home);
    const file = join(home, 'pareco', 'code', (await codeFiles(home))[0]!);
    const garbage = seededBytes((await stat(file)).size, 'garbage');
    await writeFile(file, garbage);
    await syncWith(home);
    assert.notDeepEqual(await readFile(file), garbage);
    await writeFile(file, 'short');
    await syncWith(home);
    assert.ok((await stat(file)).size > 1000);
  });

  test('--version, --help and a refused option keep nothing (their code would leave a sync to compile)', { skip: ours }, async () => {
    const home = await tempDir();
    for (const args of [['--version'], ['--help'], ['-m', 'sideways', '-l', 'a', '-r', 'b']]) {
      await runPareco(args, { env: { XDG_CACHE_HOME: home } });
    }
    assert.deepEqual(await codeFiles(home), []);
  });

  test('NODE_DISABLE_COMPILE_CACHE=1 keeps nothing', async () => {
    const home = await tempDir();
    await syncWith(home, { NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.deepEqual(await codeFiles(home), []);
  });
});
