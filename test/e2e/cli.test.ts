import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runNode, runPareco } from '../support/run-cli.js';
import { SERVER_BIN } from '../support/paths.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

/** A usage error: exit 2, exactly one line on stderr naming the option, no stack trace. */
function assertUsageError(result: { code: number | null; stderr: string }, mention: string): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, new RegExp(mention));
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
}

describe('bad option values', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'src'));
  });
  const base = () => ['-m', 'upload', '-l', join(dir, 'src'), '-r', join(dir, 'dst')];

  const cases: [string, string[], string][] = [
    ['missing --mode', ['-l', 'a', '-r', 'b'], '--mode'],
    ['bad --mode', ['-m', 'sideways', '-l', 'a', '-r', 'b'], '--mode'],
    ['missing --local-dir', ['-m', 'upload', '-r', 'b'], '--local-dir'],
    ['bad --chunk', ['-c', '12X'], '--chunk'],
    ['zero --chunk', ['-c', '0'], '--chunk'],
    ['huge --chunk', ['-c', '2G'], '--chunk'],
    ['bad --num-connections', ['-n', 'many'], '--num-connections'],
    ['zero --num-connections', ['-n', '0'], '--num-connections'],
    ['bad --hash', ['--hash', 'md4'], '--hash'],
    ['bad --timeout', ['-t', 'soon'], '--timeout'],
    ['bad --connect-timeout', ['--connect-timeout', '5 years'], '--connect-timeout'],
    ['bad --log-level', ['--log-level', 'loud'], '--log-level'],
    ['unknown option', ['--frobnicate'], 'frobnicate'],
    ['bad --server', ['-s', 'ftp://example'], 'server'],
  ];
  for (const [name, args, mention] of cases) {
    test(name, async () => {
      const full = name.startsWith('missing') || name === 'bad --mode' ? args : [...base(), ...args];
      assertUsageError(await runPareco(full), mention);
    });
  }

  test('server: bad --port and --expire', async () => {
    assertUsageError(await runNode(SERVER_BIN, ['-p', '70000']), '--port');
    assertUsageError(await runNode(SERVER_BIN, ['-e', 'forever']), '--expire');
  });

  test('--help and --version exit 0', async () => {
    const help = await runPareco(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--num-connections/);
    assert.doesNotMatch(help.stdout, /--localDir/); // hidden alias
    const version = await runPareco(['-v']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^pareco \d+\.\d+\.\d+ \(protocol \d+, node v\d+/);
    const serverVersion = await runNode(SERVER_BIN, ['--version']);
    assert.equal(serverVersion.code, 0);
    assert.match(serverVersion.stdout, /^pareco-server \d+\.\d+\.\d+ \(protocol \d+, node v\d+/);
    const serverHelp = await runNode(SERVER_BIN, ['-h']);
    assert.equal(serverHelp.code, 0);
    assert.match(serverHelp.stdout, /--expire/);
  });
});

describe('errors and exit codes', () => {
  let dir: string;
  let server: ServerProcess;
  before(async () => {
    dir = await tempDir();
    server = await startServerProcess(['-a', 'right-token']);
  });

  test('--version with --server shows the server version too; a wrong token is refused', async () => {
    const ok = await runPareco(['--version', '-s', server.url, '-a', 'right-token']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^pareco \d+\.\d+\.\d+ .*\nserver: pareco-server \d+\.\d+\.\d+ \(protocol \d+\) at http:\/\/127\.0\.0\.1:\d+\n$/);
    const refused = await runPareco(['-v', '-s', server.url, '-a', 'wrong']);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /^pareco \d/);
    assert.equal(refused.stderr, 'pareco: error: authentication failed: the server refused the token (HTTP 401)\n');
  });

  test('missing local source directory: one clear line, exit 1', async () => {
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'nope'), '-r', join(dir, 'x'), '-s', server.url, '-a', 'right-token']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), `pareco: error: local directory ${join(dir, 'nope')} does not exist`);
  });

  test('missing remote source directory for a download', async () => {
    const result = await runPareco(['-m', 'download', '-l', join(dir, 'dl'), '-r', join(dir, 'nope'), '-s', server.url, '-a', 'right-token']);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^pareco: error: remote directory .*nope does not exist$/);
  });

  test('local path that is a file', async () => {
    await writeFile(join(dir, 'afile'), 'x');
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'afile'), '-r', join(dir, 'x'), '-s', server.url, '-a', 'right-token']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not a directory/);
  });

  test('no server listening: connection refused, exit 1', async () => {
    await mkdir(join(dir, 'src'), { recursive: true });
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'src'), '-r', join(dir, 'x'), '-s', 'http://127.0.0.1:1', '--connect-timeout', '2s']);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^pareco: error: cannot connect to ws:\/\/127\.0\.0\.1:1\/v1\/ws: connection refused$/);
  });

  test('auth: missing and wrong tokens are refused (exit 1), the right one works', async () => {
    await mkdir(join(dir, 'auth-src/sub'), { recursive: true });
    await writeFile(join(dir, 'auth-src/sub/f.txt'), 'payload');
    const args = ['-m', 'upload', '-l', join(dir, 'auth-src'), '-r', join(dir, 'auth-dst'), '-s', server.url];
    const missing = await runPareco(args);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /authentication failed.*401/);
    const wrong = await runPareco([...args, '-a', 'wrong-token']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /authentication failed/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong-token|right-token/);
    const viaEnv = await runPareco(args, { env: { PARECO_AUTH_TOKEN: 'right-token' } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.deepEqual(await snapshotTree(join(dir, 'auth-dst')), await snapshotTree(join(dir, 'auth-src')));
    assert.doesNotMatch(server.output(), /right-token/);
  });

  test('no token on the server: any client may connect', async () => {
    const open = await startServerProcess([]);
    await mkdir(join(dir, 'open-src'), { recursive: true });
    await writeFile(join(dir, 'open-src/f'), 'x');
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'open-src'), '-r', join(dir, 'open-dst'), '-s', open.url]);
    assert.equal(result.code, 0, result.stderr);
    await open.stop();
  });

  test('without --server an embedded server is used', async () => {
    await mkdir(join(dir, 'emb-src/a'), { recursive: true });
    await writeFile(join(dir, 'emb-src/a/f'), 'embedded');
    const result = await runPareco(['-m', 'upload', '-l', 'emb-src', '-r', 'emb-dst'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /files: 1 total, 1 transferred/);
    assert.deepEqual(await snapshotTree(join(dir, 'emb-dst')), await snapshotTree(join(dir, 'emb-src')));
  });

  test("Pareco's camelCase spellings work as hidden aliases", async () => {
    await mkdir(join(dir, 'camel-src'), { recursive: true });
    await writeFile(join(dir, 'camel-src/f'), 'camel');
    const result = await runPareco([
      '-m', 'upload', '--localDir', join(dir, 'camel-src'), '--remoteDir', join(dir, 'camel-dst'),
      '-s', server.url, '--authToken', 'right-token', '--numConnections', '2', '--logLevel', 'stats', '--skipDigest',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await snapshotTree(join(dir, 'camel-dst')), await snapshotTree(join(dir, 'camel-src')));
  });

  test('--fsync syncs and still produces an exact copy', async () => {
    await mkdir(join(dir, 'fsync-src/sub'), { recursive: true });
    await writeFile(join(dir, 'fsync-src/sub/f'), Buffer.alloc(3 * 1024 * 1024, 9));
    await writeFile(join(dir, 'fsync-src/small'), 'small');
    for (const mode of ['upload', 'download'] as const) {
      const dst = join(dir, `fsync-dst-${mode}`);
      const io = mode === 'upload' ? ['-l', join(dir, 'fsync-src'), '-r', dst] : ['-l', dst, '-r', join(dir, 'fsync-src')];
      const result = await runPareco(['-m', mode, ...io, '-s', server.url, '-a', 'right-token', '--fsync']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await snapshotTree(dst), await snapshotTree(join(dir, 'fsync-src')));
    }
  });

  test('--json prints only JSON lines on stdout, ending with exactly one summary', async () => {
    await mkdir(join(dir, 'json-src'), { recursive: true });
    await writeFile(join(dir, 'json-src/f'), 'x');
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'json-src'), '-r', join(dir, 'json-dst'), '--json']);
    assert.equal(result.code, 0);
    const lines = result.stdout.trim().split('\n');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.equal(lines.filter((l) => l.includes('"summary"')).length, 1);
    const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    assert.equal(summary.type, 'summary');
    for (const key of ['ok', 'filesTotal', 'filesTransferred', 'filesSkipped', 'filesDeleted', 'dirsDeleted', 'bytesTotal', 'bytesTransferred', 'bytesSkipped', 'chunksTransferred', 'chunksSkipped', 'durationMs']) {
      assert.ok(key in summary, key);
    }
  });

  test('a file compared in several digest batches reports matched bytes as it goes (--log-level chunks)', async () => {
    const src = join(dir, 'matched-src');
    const dst = join(dir, 'matched-dst');
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    // 2,048 chunks of 4 KiB: two digest batches of 1,024 chunks each.
    const data = Buffer.alloc(8 * 1024 * 1024, 7);
    await writeFile(join(dst, 'big'), data);
    data[100] = 8; // the first chunk differs
    await writeFile(join(src, 'big'), data);
    const result = await runPareco(['-m', 'upload', '-l', src, '-r', dst, '-c', '4K', '--block', '4K', '--json', '--log-level', 'chunks']);
    assert.equal(result.code, 0, result.stderr);
    const matched = result.events.filter((e) => e.type === 'matched');
    assert.equal(matched.length, 2);
    assert.equal(matched.reduce((sum, e) => sum + (e.bytes as number), 0), data.length - 4096);
    assert.equal(result.summary?.bytesTransferred, 4096);
    const quiet = await runPareco(['-m', 'upload', '-l', src, '-r', dst, '-c', '4K', '--json']);
    assert.ok(!quiet.events.some((e) => e.type === 'matched'), 'only at --log-level chunks');
  });

  test('log levels: off prints nothing, stats prints only the summary, chunks prints chunks', async () => {
    await mkdir(join(dir, 'lvl-src'), { recursive: true });
    await writeFile(join(dir, 'lvl-src/f'), Buffer.alloc(3000, 1));
    const args = (n: string, level: string) => ['-m', 'upload', '-l', join(dir, 'lvl-src'), '-r', join(dir, `lvl-${n}`), '-c', '1K', '--log-level', level];
    const off = await runPareco(args('off', 'off'));
    assert.equal(off.code, 0);
    assert.equal(off.stdout + off.stderr, '');
    const stats = await runPareco(args('stats', 'stats'));
    assert.doesNotMatch(stats.stdout, /new /);
    assert.match(stats.stdout, /^files: 1 total/m);
    const chunks = await runPareco(args('chunks', 'chunks'));
    assert.equal(chunks.stdout.match(/^chunk /gm)?.length, 3);
    assert.match(chunks.stdout, /^new +f /m);
  });
});
