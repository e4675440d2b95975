import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { onCleanup } from '../support/cleanup.js';
import { missingTools } from '../support/external-tool.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { freePort } from '../support/free-port.js';
import { startSquid, startTinyproxy, type ConnectRecord, type ForwardProxy } from '../support/forward-proxy.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { startNginx, type Nginx } from '../support/nginx.js';
import { runPareco, type CliResult } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-cert.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const TOKEN = 'proxy-test-token';
const LANES = 3;
const skip = missingTools('squid', 'tinyproxy', 'nginx', 'openssl');

/** Several chunks at -c 256K, so every lane carries some; made once (seeding costs time). */
const DATA = seededBytes(1024 * 1024 + 5, 'proxy');

async function makeSource(root: string, seed: string): Promise<void> {
  await makeTree(root, {
    'data.bin': { data: DATA, mtime: 1_700_000_000_000 },
    'docs/readme.txt': `through the proxy: ${seed}\n`,
    'docs/empty': '',
  });
}

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, `exit ${result.code}\nstderr: ${result.stderr}\nstdout: ${result.stdout.slice(-3000)}`);
  assert.equal(result.summary?.ok, true);
}

/** The run failed with exit 1 and exactly one `pareco: error:` line on stderr, no stack trace; returns that line. */
function errorLine(result: CliResult, t: { diagnostic(message: string): void }): string {
  assert.equal(result.code, 1, `exit 1 expected, got ${result.code}\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace:\n${result.stderr}`);
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('pareco: error:'));
  assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
  t.diagnostic(errors[0]!);
  return errors[0]!;
}

describe('through HTTP CONNECT forward proxies (squid, tinyproxy)', { skip }, () => {
  let certs: TestCertificates;
  let work: string;
  let server: ServerProcess;
  let nginx: Nginx;
  /** The pareco-server itself, plain WebSocket. */
  let wsUrl: string;
  /** The same server behind nginx with TLS. */
  let wssUrl: string;
  let squid: ForwardProxy;
  let authSquid: ForwardProxy;
  let denySquid: ForwardProxy;
  let tinyproxy: ForwardProxy;
  const auth = { user: 'pareco', password: 's3cret:with@odd/chars' };

  before(async () => {
    certs = await makeTestCertificates();
    work = await tempDir('pareco-proxy-e2e-');
    server = await startServerProcess(['-a', TOKEN, '--base-path', '/pareco', '--heartbeat', '1s']);
    nginx = await startNginx({ upstreams: [server.port], tls: certs });
    wsUrl = `ws://127.0.0.1:${server.port}/pareco`;
    wssUrl = nginx.url;
    [squid, authSquid, denySquid, tinyproxy] = await Promise.all([
      startSquid(),
      startSquid({ auth }),
      startSquid({ policy: 'deny-all' }),
      startTinyproxy({ connectPorts: [server.port, nginx.port] }),
    ]);
  });

  let n = 0;
  const pair = () => {
    n++;
    return { source: join(work, `src${n}`), dest: join(work, `dst${n}`) };
  };

  /** Makes a source tree, syncs it with `args`/`env`, and returns the result plus what each proxy logged meanwhile. */
  async function syncVia(
    mode: 'upload' | 'download',
    url: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<{ result: CliResult; source: string; dest: string; logged: (proxy: ForwardProxy, atLeast?: number) => Promise<ConnectRecord[]> }> {
    const { source, dest } = pair();
    await makeSource(source, `${mode}-${n}`);
    const proxies = [squid, authSquid, denySquid, tinyproxy];
    const marks = new Map(await Promise.all(proxies.map(async (p) => [p, (await p.connects()).length] as const)));
    const [local, remote] = mode === 'upload' ? [source, dest] : [dest, source];
    const result = await runPareco(
      ['-m', mode, '-l', local, '-r', remote, '-s', url, '-a', TOKEN, '--json', '-n', String(LANES), '-c', '256K', '--ca', certs.caCert, ...args],
      { env, timeoutMs: 40_000 },
    );
    const logged = async (proxy: ForwardProxy, atLeast = 0) => (await proxy.waitForConnects(marks.get(proxy)! + atLeast, atLeast === 0 ? 300 : 5000)).slice(marks.get(proxy));
    return { result, source, dest, logged };
  }

  /** Every lane went through `proxy` as a CONNECT tunnel to `port`, answered 200 where the proxy logs statuses. */
  async function assertTunnelled(logged: (p: ForwardProxy, atLeast?: number) => Promise<ConnectRecord[]>, proxy: ForwardProxy, port: number, user?: string) {
    const records = await logged(proxy, LANES);
    assert.ok(records.length >= LANES, `${proxy.kind} logged ${records.length} CONNECTs, ${LANES} lanes expected`);
    for (const record of records) {
      assert.equal(record.target, `127.0.0.1:${port}`);
      if (proxy.kind === 'squid') assert.equal(record.status, 200);
      if (user !== undefined) assert.equal(record.user, user);
    }
  }

  async function assertSynced(source: string, dest: string): Promise<void> {
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));
  }

  for (const [mode, variable] of [['upload', 'HTTPS_PROXY'], ['download', 'https_proxy']] as const) {
    test(`${mode} to wss:// behind nginx via ${variable}: every lane is a CONNECT tunnel through squid`, async () => {
      const { result, source, dest, logged } = await syncVia(mode, wssUrl, [], { [variable]: squid.url });
      assertOk(result);
      await assertSynced(source, dest);
      await assertTunnelled(logged, squid, nginx.port);
    });
  }

  for (const [mode, variable] of [['upload', 'HTTP_PROXY'], ['download', 'http_proxy']] as const) {
    test(`${mode} to ws:// via ${variable}: tunnelled with CONNECT too (squid forwards no Upgrade)`, async () => {
      const { result, source, dest, logged } = await syncVia(mode, wsUrl, [], { [variable]: squid.url });
      assertOk(result);
      await assertSynced(source, dest);
      await assertTunnelled(logged, squid, server.port);
    });
  }

  test('each variable serves its own scheme: HTTPS_PROXY is not used for ws://, HTTP_PROXY not for wss://', async () => {
    for (const [url, variable] of [[wsUrl, 'HTTPS_PROXY'], [wssUrl, 'HTTP_PROXY']] as const) {
      const { result, source, dest, logged } = await syncVia('upload', url, [], { [variable]: denySquid.url });
      assertOk(result);
      await assertSynced(source, dest);
      assert.deepEqual(await logged(denySquid), [], `${variable} must not be used for ${url}`);
    }
  });

  test('the lower-case variable wins over the upper-case one, as with curl', async () => {
    const { result, source, dest, logged } = await syncVia('upload', wssUrl, [], { HTTPS_PROXY: denySquid.url, https_proxy: squid.url });
    assertOk(result);
    await assertSynced(source, dest);
    await assertTunnelled(logged, squid, nginx.port);
  });

  test('ALL_PROXY is the fallback for both schemes', async () => {
    for (const [url, port] of [[wsUrl, server.port], [wssUrl, nginx.port]] as const) {
      const { result, source, dest, logged } = await syncVia('download', url, [], { ALL_PROXY: squid.url });
      assertOk(result);
      await assertSynced(source, dest);
      await assertTunnelled(logged, squid, port);
    }
  });

  test('pareco --version -s checks the whole path (proxy, TLS, nginx, token) without a session', async () => {
    const mark = (await squid.connects()).length;
    const outputBefore = server.output().length;
    const result = await runPareco(['--version', '-s', wssUrl, '-a', TOKEN, '--ca', certs.caCert], { env: { HTTPS_PROXY: squid.url } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^server: pareco-server \S+/m);
    const records = (await squid.waitForConnects(mark + 1)).slice(mark);
    assert.deepEqual(records, [{ target: `127.0.0.1:${nginx.port}`, status: 200 }]);
    assert.doesNotMatch(server.output().slice(outputBefore), /session \S+ opened/);
  });

  test('through the tunnel the certificate is checked against the server\'s host name, not the proxy\'s', async () => {
    // A certificate for "localhost" only: a client that checked it against the proxy's address
    // (127.0.0.1) instead of the server's name would refuse it.
    const named = await makeTestCertificates({ subjectAltName: 'DNS:localhost' });
    const named443 = await startNginx({ upstreams: [server.port], tls: named });
    const url = named443.url.replace('127.0.0.1', 'localhost');
    const { result, source, dest, logged } = await syncVia('upload', url, ['--ca', named.caCert], { HTTPS_PROXY: squid.url });
    assertOk(result);
    await assertSynced(source, dest);
    const records = await logged(squid, LANES);
    assert.ok(records.length >= LANES);
    for (const record of records) assert.equal(record.target, `localhost:${named443.port}`);
  });

  test('a tunnel cut mid-sync is reopened through the proxy (a new CONNECT), and the sync completes', async () => {
    // client → FaultProxy → squid → nginx: cutting a client-side connection kills one lane's
    // tunnel; --bwlimit keeps the sync going for about 4 s so the cut lands early on, and a
    // short --retry-wait brings the lane back well before the end (the default waits up to
    // 1.5 s, and a sync that ends first never reconnects; a loaded machine needs the margin).
    const cutter = await FaultProxy.start({ target: { host: '127.0.0.1', port: squid.port } });
    onCleanup(() => cutter.close());
    const logStart = server.output().length;
    const run = syncVia('upload', wssUrl, ['--bwlimit', '256K', '--retry-wait', '100ms'], { HTTPS_PROXY: cutter.url });
    // Cut only once the server has seen every lane arrive (the open and its joins): a lane cut
    // while still connecting is retried quietly, before squid logs its CONNECT, and proves nothing.
    const arrived = () => server.output().slice(logStart).split('\n').filter((line) => / (opened|joined) by /.test(line)).length;
    for (const deadline = Date.now() + 15_000; arrived() < LANES && Date.now() < deadline; ) await sleep(20);
    assert.equal(arrived(), LANES, 'every lane joined the session');
    assert.ok(cutter.cutOne(0), 'a lane was open to cut');
    const { result, source, dest, logged } = await run;
    assertOk(result);
    await assertSynced(source, dest);
    const records = await logged(squid, LANES + 1);
    const laneEvents = result.events.filter((e) => e.type === 'lost' || e.type === 'warning').map((e) => `${String(e.type)}: ${String(e.message)}`);
    assert.ok(result.events.some((e) => e.type === 'lost'), `the client saw its lane cut:\n${laneEvents.join('\n')}`);
    assert.ok(records.length > LANES, `${records.length} CONNECTs: the cut lane came back through the proxy\n${JSON.stringify(records)}\n${laneEvents.join('\n')}\n${result.stderr}`);
  });

  test('--proxy overrides the environment', async () => {
    const { result, source, dest, logged } = await syncVia('download', wssUrl, ['--proxy', squid.url], { HTTPS_PROXY: denySquid.url });
    assertOk(result);
    await assertSynced(source, dest);
    await assertTunnelled(logged, squid, nginx.port);
    assert.deepEqual(await logged(denySquid), []);
  });

  test('basic auth from the proxy URL (--proxy user:password@, percent-encoded)', async () => {
    const { result, source, dest, logged } = await syncVia('upload', wssUrl, ['--proxy', authSquid.urlWith(auth.user, auth.password)], {});
    assertOk(result);
    await assertSynced(source, dest);
    await assertTunnelled(logged, authSquid, nginx.port, auth.user);
  });

  test('basic auth from HTTP_PROXY', async () => {
    const { result, source, dest, logged } = await syncVia('download', wsUrl, [], { HTTP_PROXY: authSquid.urlWith(auth.user, auth.password) });
    assertOk(result);
    await assertSynced(source, dest);
    await assertTunnelled(logged, authSquid, server.port, auth.user);
  });

  test('a second proxy implementation (tinyproxy, HTTP/1.0 replies) tunnels both ws:// and wss://', async () => {
    for (const [url, variable, port] of [[wsUrl, 'HTTP_PROXY', server.port], [wssUrl, 'HTTPS_PROXY', nginx.port]] as const) {
      const { result, source, dest, logged } = await syncVia('upload', url, [], { [variable]: tinyproxy.url });
      assertOk(result);
      await assertSynced(source, dest);
      await assertTunnelled(logged, tinyproxy, port);
    }
  });

  // Each case is a separate sync; they run side by side to keep the file fast.
  describe('NO_PROXY', () => {
    test('matching the server: direct connection, the proxy sees nothing', async () => {
      const cases = [
        ...['127.0.0.1', '*', `127.0.0.1:${nginx.port}`, 'example.com, .example.org,127.0.0.1'].map((value) => ['NO_PROXY', value] as const),
        ['no_proxy', '127.0.0.1'] as const,
      ];
      const mark = (await denySquid.connects()).length;
      await Promise.all(
        cases.map(async ([variable, value]) => {
          const { result, source, dest } = await syncVia('upload', wssUrl, [], { HTTPS_PROXY: denySquid.url, [variable]: value });
          assertOk(result);
          await assertSynced(source, dest);
        }),
      );
      assert.deepEqual((await denySquid.waitForConnects(mark + 1, 300)).slice(mark), [], 'nothing went to the proxy');
    });

    test('not matching the server (other hosts, other port): the proxy is used', async () => {
      const values = ['example.com,.example.org', `127.0.0.1:${nginx.port === 1 ? 2 : 1}`, '127.0.0.2'];
      const mark = (await squid.connects()).length;
      await Promise.all(
        values.map(async (value) => {
          const { result, source, dest } = await syncVia('download', wssUrl, [], { HTTPS_PROXY: squid.url, NO_PROXY: value });
          assertOk(result);
          await assertSynced(source, dest);
        }),
      );
      const records = (await squid.waitForConnects(mark + values.length * LANES)).slice(mark);
      assert.ok(records.length >= values.length * LANES, `${records.length} CONNECTs for ${values.length} syncs of ${LANES} lanes`);
      for (const record of records) assert.deepEqual(record, { target: `127.0.0.1:${nginx.port}`, status: 200 });
    });
  });

  test('--no-proxy ignores the proxy variables', async () => {
    const { result, source, dest, logged } = await syncVia('download', wssUrl, ['--no-proxy'], { HTTPS_PROXY: denySquid.url, HTTP_PROXY: denySquid.url });
    assertOk(result);
    await assertSynced(source, dest);
    assert.deepEqual(await logged(denySquid), []);
  });

  test('a wrong proxy password: HTTP 407 as one error line, exit 1, the password not shown', async (t) => {
    const started = Date.now();
    const wrong = 'Wrong-Pa55word';
    const { result, dest, logged } = await syncVia('upload', wssUrl, [], { HTTPS_PROXY: authSquid.urlWith(auth.user, wrong) });
    const line = errorLine(result, t);
    assert.ok(!result.stderr.includes(wrong) && !result.stdout.includes(wrong), `the password stays secret:\n${result.stderr}`);
    assert.match(line, /proxy/i);
    assert.match(line, /HTTP 407/);
    assert.ok(Date.now() - started < 15_000, 'a refusal is not retried like a network outage');
    assert.equal(existsSync(join(dest, 'data.bin')), false);
    assert.ok((await logged(authSquid, 1)).every((r) => r.status === 407));
  });

  test('no credentials for a proxy that wants them: HTTP 407', async (t) => {
    const { result } = await syncVia('download', wsUrl, [], { HTTP_PROXY: authSquid.url });
    assert.match(errorLine(result, t), /proxy.*HTTP 407|HTTP 407.*proxy/i);
  });

  test('a proxy that forbids the tunnel: HTTP 403 as one error line, exit 1', async (t) => {
    const { result, logged } = await syncVia('upload', wssUrl, [], { HTTPS_PROXY: denySquid.url });
    const line = errorLine(result, t);
    assert.match(line, /proxy/i);
    assert.match(line, /HTTP 403/);
    assert.ok((await logged(denySquid, 1)).every((r) => r.status === 403));
  });

  test('a proxy that is not running: one error line naming the proxy, exit 1', async (t) => {
    const port = await freePort();
    const { result } = await syncVia('upload', wssUrl, ['--retries', '0'], { HTTPS_PROXY: `http://127.0.0.1:${port}` });
    assert.match(errorLine(result, t), /proxy/i);
  });
});
