import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { missingTools } from '../support/external-tool.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { startNginx, type Nginx } from '../support/nginx.js';
import { runPareco, type CliResult, type RunOptions } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-cert.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const TOKEN = 'nginx-test-token';
const MiB = 1024 * 1024;
const skip = missingTools('nginx', 'openssl');

/** Made once: seeding costs time, and every test syncs into a fresh destination anyway. */
const BIG = seededBytes(3 * MiB + 77, 'nginx');

/** A small tree with a multi-chunk file, an empty file, a subdirectory and a symlink. */
async function makeSource(root: string, seed: string): Promise<void> {
  await makeTree(root, {
    'big.bin': { data: BIG, mtime: 1_600_000_000_000 },
    'dir/small.txt': `hello from ${seed}\n`,
    'dir/sub/empty': '',
    'link': { link: 'dir/small.txt' },
  });
}

function sync(url: string, mode: 'upload' | 'download', source: string, dest: string, args: string[] = [], options: RunOptions = {}): Promise<CliResult> {
  const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
  return runPareco(['-m', mode, '-l', local, '-r', remote, '-s', url, '-a', TOKEN, '--json', '-c', '1M', ...args], { timeoutMs: 40_000, ...options });
}

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, `exit ${result.code}\nstderr: ${result.stderr}\nstdout: ${result.stdout.slice(-3000)}`);
  assert.equal(result.summary?.ok, true);
}

/** The single `pareco: error: …` line of a failed run; also checks that nothing else (no stack) was printed around it. */
function errorLine(result: CliResult, t: { diagnostic(message: string): void }): string {
  assert.notEqual(result.code, 0, 'the run must fail');
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace:\n${result.stderr}`);
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('pareco: error:'));
  assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
  t.diagnostic(errors[0]!);
  return errors[0]!;
}

/** Server log lines (stdout) that mention `session`. */
function sessionLines(output: string, session: string): string[] {
  return output.split('\n').filter((line) => line.includes(`session ${session} `));
}

/** Resolves with the id of the next session the server reports as opened (reading its stdout as it comes). */
function nextOpenedSession(server: ServerProcess): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (data: Buffer) => {
      seen += data.toString();
      const match = /session (\S+) opened/.exec(seen);
      if (!match) return;
      server.child.stdout!.off('data', onData);
      resolve(match[1]!);
    };
    server.child.stdout!.on('data', onData);
  });
}

describe('behind nginx terminating TLS, under /pareco', { skip }, () => {
  let certs: TestCertificates;
  let work: string;
  let server: ServerProcess;
  let nginx: Nginx;
  before(async () => {
    certs = await makeTestCertificates();
    work = await tempDir('pareco-nginx-e2e-');
    server = await startServerProcess(['-a', TOKEN, '--base-path', '/pareco', '--heartbeat', '1s']);
    // nginx connects to the server from 127.0.0.3, the client from 127.0.0.1: the server can
    // only name the client by reading X-Forwarded-For.
    nginx = await startNginx({ upstreams: [server.port], tls: certs, proxyBind: '127.0.0.3' });
  });
  let n = 0;
  const pair = () => {
    n++;
    return { source: join(work, `src${n}`), dest: join(work, `dst${n}`) };
  };

  for (const mode of ['upload', 'download'] as const) {
    test(`${mode} to wss://…/pareco with --ca: bytes equal; the server logs the client from X-Forwarded-For`, async () => {
      const { source, dest } = pair();
      await makeSource(source, mode);
      const before = server.output().length;
      const result = await sync(nginx.url, mode, source, dest, ['-n', '4', '--ca', certs.caCert]);
      assertOk(result);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      const opened = server.output().slice(before).split('\n').find((line) => / opened by /.test(line));
      assert.ok(opened, `an opened line:\n${server.output().slice(before)}`);
      assert.match(opened, /opened by .*\b127\.0\.0\.1\b/, 'the client address comes from X-Forwarded-For (nginx itself is 127.0.0.3)');
    });
  }

  for (const mode of ['upload', 'download'] as const) {
    test(`${mode} with --compress through nginx: bytes equal, compressible data in a fraction of its size on the wire`, async () => {
      const { source, dest } = pair();
      await makeSource(source, `${mode}-z`);
      const log = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `GET /item/${i % 500} 200 ${i % 97}ms\n`).join(''));
      await writeFile(join(source, 'access.log'), log);
      const result = await sync(nginx.url, mode, source, dest, ['-n', '4', '--ca', certs.caCert, '-z']);
      assertOk(result);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      const wire = result.summary?.wire as { sent: number; received: number; compressed: boolean };
      assert.equal(wire.compressed, true);
      // BIG is random (sent as it is); the log shrinks to a small fraction.
      assert.ok((mode === 'upload' ? wire.sent : wire.received) < BIG.length + log.length / 4, JSON.stringify(wire));
    });
  }

  test('--insecure: succeeds without verifying, and says so on stderr', async () => {
    const { source, dest } = pair();
    await makeSource(source, 'insecure');
    const result = await sync(nginx.url, 'upload', source, dest, ['--insecure']);
    assertOk(result);
    assert.match(result.stderr, /--insecure/);
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
  });

  test('https:// with a path prefix is the same server as wss://', async () => {
    const { source, dest } = pair();
    await makeSource(source, 'https');
    assertOk(await sync(nginx.url.replace(/^wss:/, 'https:'), 'download', source, dest, ['--ca', certs.caCert]));
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
  });

  test('NODE_EXTRA_CA_CERTS is trusted like --ca', async () => {
    const { source, dest } = pair();
    await makeSource(source, 'extra-ca');
    assertOk(await sync(nginx.url, 'upload', source, dest, [], { env: { NODE_EXTRA_CA_CERTS: certs.caCert } }));
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
  });

  test('an untrusted certificate: one error line that names the certificate and suggests --ca', async (t) => {
    const { source, dest } = pair();
    await makeSource(source, 'untrusted');
    const started = Date.now();
    const result = await sync(nginx.url, 'upload', source, dest);
    const line = errorLine(result, t);
    assert.match(line, /certificate/i);
    assert.match(line, /--ca\b/);
    assert.ok(Date.now() - started < 15_000, 'a certificate problem is not retried like a network outage');
    assert.equal(existsSync(join(dest, 'big.bin')), false);
  });

  test('a --ca that did not sign the server certificate is refused too', async (t) => {
    const { source, dest } = pair();
    await makeSource(source, 'other-ca');
    const other = await makeTestCertificates();
    const line = errorLine(await sync(nginx.url, 'upload', source, dest, ['--ca', other.caCert]), t);
    assert.match(line, /certificate/i);
    assert.ok(line.includes(`signed neither by a CA in --ca ${other.caCert} nor by a public one`), line);
  });

  // nginx closes an upgraded connection on which nothing moved, in either direction, for
  // proxy_read_timeout (3 s here). Each test below makes a sync's lanes idle for longer, in the
  // middle of the sync, and has its own server and nginx so that their logs speak of that test
  // alone and the tests can run side by side.
  describe('lanes idle for longer than proxy_read_timeout (3 s)', { concurrency: true }, () => {
    /** A server pinging every `heartbeat`, behind its own nginx. */
    async function setup(heartbeat: string): Promise<{ target: ServerProcess; proxy: Nginx }> {
      const target = await startServerProcess(['-a', TOKEN, '--base-path', '/pareco', '--heartbeat', heartbeat]);
      return { target, proxy: await startNginx({ upstreams: [target.port], tls: certs }) };
    }

    /**
     * How a sync idles, deterministically: --bwlimit books each payload's time at the rate
     * before sending it, so a 2 MiB file in 1 MiB chunks at 200K/s goes as one chunk, then
     * 5 s in which neither end has anything to say on any lane, then the second chunk.
     */
    function rateLimitedUpload(proxy: Nginx, source: string, dest: string, clientHeartbeat: string): Promise<CliResult> {
      return sync(proxy.url, 'upload', source, dest, ['-n', '2', '-c', '1M', '--bwlimit', '200K', '--heartbeat', clientHeartbeat, '--ca', certs.caCert]);
    }

    /** Lanes the server saw arrive: `opened` plus `joined` lines (a reconnected lane joins again). */
    const arrivals = (target: ServerProcess) => target.output().split('\n').filter((l) => / (opened|joined) by /.test(l)).length;

    /** nginx cut no lane: none timed out, and the server saw only the two lanes arrive once each. */
    async function assertNoLaneCut(target: ServerProcess, proxy: Nginx): Promise<void> {
      assert.doesNotMatch(await proxy.errorLog(), /timed out/, 'nginx cut no connection');
      assert.equal(arrivals(target), 2, `no lane had to reconnect:\n${target.output()}`);
    }

    for (const [title, serverBeat, clientBeat] of [
      ['both ends ping every second', '1s', '1s'],
      ['the client\'s pings alone (server at 60 s) keep them', '60s', '1s'],
    ] as const) {
      test(`a rate-limited upload with a 5 s pause: ${title}; no lane is cut`, async () => {
        const { target, proxy } = await setup(serverBeat);
        const { source, dest } = pair();
        await makeTree(source, { 'slow.bin': BIG.subarray(0, 2 * MiB) });
        const started = Date.now();
        assertOk(await rateLimitedUpload(proxy, source, dest, clientBeat));
        assert.ok(Date.now() - started > 4500, 'the pause did happen');
        assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
        await assertNoLaneCut(target, proxy);
      });
    }

    test('the server\'s pings alone keep the lanes of a frozen client (SIGSTOP for 4 s)', async () => {
      // The client is stopped right after the server reports the session opened (before any
      // transfer), so neither its requests nor its pings can keep nginx's timer from firing.
      // --bwlimit 1M stretches the 3 MiB transfer over 2 s or more, so that the stop lands
      // mid-sync even when this test process is slow to read the server's log line.
      const { target, proxy } = await setup('1s');
      const { source, dest } = pair();
      await makeTree(source, { 'big.bin': BIG, 'a.txt': 'a' });
      const opened = nextOpenedSession(target);
      let child: ChildProcess | undefined;
      const run = sync(proxy.url, 'upload', source, dest, ['-n', '2', '-c', '256K', '--bwlimit', '1M', '--heartbeat', '60s', '--ca', certs.caCert], {
        onSpawn: (c) => (child = c),
      });
      const first = await Promise.race([opened, run]);
      if (typeof first !== 'string') assert.fail(`the sync ended before its session opened: exit ${first.code}\n${first.stderr}`);
      child!.kill('SIGSTOP');
      try {
        assert.equal(child!.exitCode, null);
        assert.equal(existsSync(join(dest, 'big.bin')), false, 'frozen mid-sync, before big.bin was in place');
        await sleep(4000);
      } finally {
        child!.kill('SIGCONT');
      }
      assertOk(await run);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      await assertNoLaneCut(target, proxy);
    });

    test('without pings (60 s on both ends) nginx cuts the idle lanes: the heartbeats are what keeps them', async () => {
      const { target, proxy } = await setup('60s');
      const { source, dest } = pair();
      await makeTree(source, { 'slow.bin': BIG.subarray(0, 2 * MiB) });
      const result = await rateLimitedUpload(proxy, source, dest, '60s');
      const errorLog = await proxy.errorLog();
      assert.match(errorLog, /upstream timed out .*while proxying upgraded connection/, errorLog);
      // The client notices the closed lanes, reconnects, and still gets the bytes right.
      assertOk(result);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
      assert.ok(arrivals(target) > 2, `lanes reconnected:\n${target.output()}`);
    });
  });
});

describe('two servers behind nginx routing on the route parameter (hash $arg_route consistent)', { skip }, () => {
  let work: string;
  let servers: ServerProcess[];
  let nginx: Nginx;
  before(async () => {
    const certs = await makeTestCertificates();
    work = await tempDir('pareco-sticky-');
    servers = await Promise.all([1, 2].map(() => startServerProcess(['-a', TOKEN, '--base-path', '/pareco', '--heartbeat', '1s'])));
    nginx = await startNginx({ upstreams: servers.map((s) => s.port), tls: certs, hashRoute: true });
  });

  test('every lane of a sync (-n 8) reaches the server that holds its session', async (t) => {
    const tally = [0, 0];
    for (let i = 0; i < 4; i++) {
      const source = join(work, `src${i}`);
      const dest = join(work, `dst${i}`);
      const files: Record<string, Buffer> = {};
      for (let f = 0; f < 16; f++) files[`f${f}.bin`] = BIG.subarray(f * 96 * 1024, (f + 1) * 96 * 1024);
      await makeTree(source, files);
      const marks = servers.map((s) => s.output().length);
      const result = await sync(nginx.url, 'upload', source, dest, ['-n', '8', '-c', '32K', '--insecure']);
      assertOk(result);
      assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));

      const logs = servers.map((s, k) => s.output().slice(marks[k]));
      const holders = logs.flatMap((log, k) => [...log.matchAll(/session (\S+) opened/g)].map((m) => ({ k, session: m[1]! })));
      assert.equal(holders.length, 1, `one session opened for one sync:\n${logs.join('\n---\n')}`);
      const { k, session } = holders[0]!;
      tally[k]!++;
      assert.equal(sessionLines(logs[k]!, session).filter((l) => / joined /.test(l)).length, 7, `7 lanes joined on server ${k}:\n${logs[k]}`);
      const other = logs[1 - k]!;
      assert.doesNotMatch(other, /session \S+ (opened|joined)/, `the other server saw no lane of this sync:\n${other}`);
      assert.doesNotMatch(other, /unknown session|closed:/i, `and no lane failing to join there:\n${other}`);
    }
    // nginx logged each lane with its route key and the upstream it picked: one upstream per key.
    const routes = new Map<string, Set<string>>();
    for (const match of (await nginx.accessLog()).matchAll(/route=(\S*) upstream=(\S+) status=101/g)) {
      const [, route, upstream] = match;
      assert.notEqual(route, '', 'every lane URL carries ?route=');
      routes.set(route!, (routes.get(route!) ?? new Set()).add(upstream!));
    }
    assert.equal(routes.size, 4, 'one route key per sync');
    for (const [route, upstreams] of routes) assert.equal(upstreams.size, 1, `route ${route} went to ${[...upstreams].join(' and ')}`);
    t.diagnostic(`sessions per server: ${tally.join(' / ')}`);
  });
});
