import { PROTOCOL_VERSION } from '../../protocol/version.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { loadDigest } from '../../src/digest/registry.js';
import { RangeDigest } from '../../src/digest/range-digest.js';
import { httpGet } from '../support/http-get.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { parsePrometheusText, sampleValue, type Family } from '../support/prometheus-text.js';
import { openFrame, RawLane } from '../support/raw-lane.js';
import { runNode, runPareco, type CliResult } from '../support/run-cli.js';
import { REPO_ROOT, SERVER_BIN } from '../support/paths.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const TOKEN = 'service-test-token';
const MiB = 1024 * 1024;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** GET <server>/metrics, parsed strictly (any deviation from the text format throws). */
async function scrape(server: ServerProcess, token = TOKEN, basePath = ''): Promise<Map<string, Family>> {
  const answer = await httpGet(`${server.url}${basePath}/metrics`, auth(token));
  assert.equal(answer.status, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parsePrometheusText(answer.body);
}

/** A sample's value, 0 when its series does not exist yet (labelled counters appear with their first event). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  try {
    return sampleValue(families, name, labels);
  } catch (error) {
    if (/^0 samples/.test((error as Error).message)) return 0;
    throw error;
  }
}

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, `exit ${result.code}\nstderr: ${result.stderr}\nstdout: ${result.stdout.slice(-2000)}`);
  assert.equal(result.summary?.ok, true);
}

describe('metrics', () => {
  let work: string;
  let server: ServerProcess;
  before(async () => {
    work = await tempDir('pareco-metrics-');
    server = await startServerProcess(['-a', TOKEN]);
  });

  test('scraped during and after an upload and a download: the counters are what the syncs report', async () => {
    const source = join(work, 'src');
    await makeTree(source, {
      'big.bin': seededBytes(3 * MiB + 77, 'metrics'),
      'small.txt': 'small\n',
      'empty': '',
      'dir/link': { link: '../small.txt' },
    });
    const dest = join(work, 'dst');
    const before = await scrape(server);

    // -n 3 with --bwlimit 2M: about 1.5 s of transfer, scraped all along.
    const run = runPareco(['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '-a', TOKEN, '-n', '3', '-c', '256K', '--bwlimit', '2M', '--json']);
    let finished = false;
    void run.then(() => (finished = true));
    const during: Map<string, Family>[] = [];
    while (!finished) {
      during.push(await scrape(server));
      await sleep(100);
    }
    const upload = await run;
    assertOk(upload);
    assert.deepEqual(await snapshotTree(dest), await snapshotTree(source));

    const mid = during.filter((f) => value(f, 'pareco_lanes_connected') === 3);
    assert.ok(mid.length >= 2, `scrapes saw the 3 lanes during the sync (${during.length} scrapes)`);
    let previous = value(before, 'pareco_file_bytes_total', { direction: 'received' });
    for (const families of mid) {
      assert.equal(value(families, 'pareco_sessions_open', { mode: 'upload' }), 1);
      const received = value(families, 'pareco_file_bytes_total', { direction: 'received' });
      assert.ok(received >= previous, 'file bytes only grow');
      previous = received;
    }
    const firstSeen = value(mid[0]!, 'pareco_file_bytes_total', { direction: 'received' }) - value(before, 'pareco_file_bytes_total', { direction: 'received' });
    assert.ok(firstSeen < (upload.summary!.bytesTransferred as number), `a scrape saw the upload under way (${firstSeen} bytes)`);

    // The client has closed its lanes by now, but the server may see the last close a moment later.
    let after = await scrape(server);
    for (let i = 0; i < 50 && value(after, 'pareco_lanes_connected') !== 0; i++) after = (await sleep(50), await scrape(server));
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta('pareco_file_bytes_total', { direction: 'received' }), upload.summary!.bytesTransferred);
    assert.equal(delta('pareco_file_bytes_total', { direction: 'sent' }), 0);
    assert.equal(delta('pareco_files_committed_total'), upload.summary!.filesTransferred);
    assert.equal(upload.summary!.filesTransferred, 3);
    assert.equal(delta('pareco_sessions_opened_total', { mode: 'upload' }), 1);
    assert.equal(delta('pareco_sessions_ended_total', { mode: 'upload', reason: 'closed' }), 1);
    assert.equal(value(after, 'pareco_sessions_open', { mode: 'upload' }), 0);
    assert.equal(value(after, 'pareco_lanes_connected'), 0);
    assert.equal(delta('pareco_lanes_joined_total'), 3);
    // Every lane sends the same open at once: one opens the session, the others join it.
    assert.equal(delta('pareco_requests_total', { type: 'open', code: 'OK' }), 3);
    assert.equal(delta('pareco_sessions_opened_total', { mode: 'upload' }), 1);
    // Every write and commit answered is in its latency histogram.
    for (const type of ['write', 'commit', 'putmany']) {
      assert.ok(delta('pareco_requests_total', { type, code: 'OK' }) > 0, type);
      assert.equal(delta('pareco_request_duration_seconds_count', { type }), delta('pareco_requests_total', { type, code: 'OK' }), type);
    }
    // On the wire: the file data plus framing, requests and the upgrades.
    const wireIn = delta('pareco_wire_bytes_total', { direction: 'received' });
    assert.ok(wireIn > (upload.summary!.bytesTransferred as number) && wireIn < (upload.summary!.bytesTransferred as number) + 200_000, `wire bytes in: ${wireIn}`);

    const back = join(work, 'back');
    const download = await runPareco(['-m', 'download', '-l', back, '-r', dest, '-s', server.url, '-a', TOKEN, '-n', '2', '-c', '1M', '--json']);
    assertOk(download);
    assert.deepEqual(await snapshotTree(back), await snapshotTree(source));
    const last = await scrape(server);
    const since = (name: string, labels: Record<string, string> = {}) => value(last, name, labels) - value(after, name, labels);
    assert.equal(since('pareco_file_bytes_total', { direction: 'sent' }), download.summary!.bytesTransferred);
    assert.equal(since('pareco_file_bytes_total', { direction: 'received' }), 0);
    assert.equal(since('pareco_files_committed_total'), 0);
    assert.equal(since('pareco_sessions_opened_total', { mode: 'download' }), 1);
    assert.equal(since('pareco_request_duration_seconds_count', { type: 'read' }), since('pareco_requests_total', { type: 'read', code: 'OK' }));
    assert.ok(since('pareco_wire_bytes_total', { direction: 'sent' }) > (download.summary!.bytesTransferred as number));
  });

  test('a second sync of the same tree compares digests: hash requests and block-cache lookups are counted, no data moves', async () => {
    const source = join(work, 'again-src');
    const data = seededBytes(2 * MiB, 'again');
    await makeTree(source, { 'f.bin': data });
    const dest = join(work, 'again-dst');
    assertOk(await runPareco(['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '-a', TOKEN, '-n', '2', '--json']));
    // One page changed: the chunk differs, its block digests come from the cache kept while hashing it.
    data.fill(7, 4096, 8192);
    await makeTree(source, { 'f.bin': data });
    const before = await scrape(server);
    const result = await runPareco(['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '-a', TOKEN, '-n', '2', '--json']);
    assertOk(result);
    const after = await scrape(server);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    assert.ok(delta('pareco_requests_total', { type: 'hash', code: 'OK' }) + delta('pareco_requests_total', { type: 'list', code: 'OK' }) > 0);
    assert.ok(delta('pareco_block_digest_cache_lookups_total', { result: 'hit' }) >= 1, 'the block digests of the changed chunk came from the cache');
    assert.equal(delta('pareco_file_bytes_total', { direction: 'received' }), result.summary!.bytesTransferred);
    assert.ok((result.summary!.bytesTransferred as number) <= 8192);
  });

  test('a wrong token is an auth failure, and a request the server refuses is counted with its error code', async () => {
    const before = await scrape(server);
    await assert.rejects(RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`, 'wrong'), /HTTP 401/);
    const lane = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`, TOKEN);
    const refused = await lane.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: 'nosuchsession', key: 'nokey' });
    assert.equal(refused.code, 'SESSION_NOT_FOUND');
    const after = await scrape(server);
    assert.equal(value(after, 'pareco_auth_failures_total', { endpoint: 'lane' }) - value(before, 'pareco_auth_failures_total', { endpoint: 'lane' }), 1);
    assert.equal(value(after, 'pareco_requests_total', { type: 'join', code: 'SESSION_NOT_FOUND' }) - value(before, 'pareco_requests_total', { type: 'join', code: 'SESSION_NOT_FOUND' }), 1);
    // No label of any series holds a path, a session id or an address.
    for (const family of after.values()) {
      for (const sample of family.samples) {
        for (const label of Object.values(sample.labels)) assert.doesNotMatch(label, /\/|nosuchsession|127\.0\.0\.1/, `${sample.name} ${label}`);
      }
    }
  });
});

describe('metrics access and health endpoints', () => {
  test('with the auth token by default; a wrong or missing one is refused and counted; health needs none and tells nothing', async () => {
    const server = await startServerProcess(['-a', TOKEN]);
    await server.waitForOutput(/^metrics at \/metrics \(with the auth token\)$/m);
    assert.equal((await httpGet(`${server.url}/metrics`)).status, 401);
    assert.equal((await httpGet(`${server.url}/metrics`, auth('wrong'))).status, 401);
    const families = await scrape(server);
    assert.equal(sampleValue(families, 'pareco_auth_failures_total', { endpoint: 'metrics' }), 2);
    assert.equal(families.get('pareco_requests_total')?.type, 'counter');
    assert.equal(families.get('pareco_request_duration_seconds')?.type, 'histogram');
    assert.equal(families.get('pareco_sessions_open')?.type, 'gauge');
    for (const [path, body] of [['/healthz', 'ok\n'], ['/readyz', 'ready\n']] as const) {
      const answer = await httpGet(`${server.url}${path}`);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body, body, `${path} says nothing more`);
    }
  });

  test('--metrics-token: only that token reads the metrics; the endpoints follow --base-path', async () => {
    const server = await startServerProcess(['-a', TOKEN, '--metrics-token', 'scraper-token', '--base-path', '/p']);
    await server.waitForOutput(/^metrics at \/p\/metrics \(with the metrics token\)$/m);
    assert.equal((await httpGet(`${server.url}/p/metrics`, auth(TOKEN))).status, 401, 'the lanes token does not read metrics');
    await scrape(server, 'scraper-token', '/p');
    assert.equal((await httpGet(`${server.url}/metrics`, auth('scraper-token'))).status, 404);
    assert.equal((await httpGet(`${server.url}/p/healthz`)).status, 200);
    assert.equal((await httpGet(`${server.url}/p/readyz`)).status, 200);
  });

  test('--no-metrics: no endpoint; a server without a token (loopback) serves them to anyone', async () => {
    const off = await startServerProcess(['-a', TOKEN, '--no-metrics']);
    assert.equal((await httpGet(`${off.url}/metrics`, auth(TOKEN))).status, 404);
    assert.equal((await httpGet(`${off.url}/healthz`)).status, 200);
    assert.equal(await off.stop(), 0);
    assert.doesNotMatch(off.output(), /metrics/);
    const open = await startServerProcess([]);
    await open.waitForOutput(/^metrics at \/metrics \(without a token\)$/m);
    assert.equal((await httpGet(`${open.url}/metrics`)).status, 200);
  });

  test('startServer() (the client\'s embedded server) has no metrics and never loads prom-client; metrics: {} turns them on', async () => {
    const script = join(await tempDir('pareco-lazy-'), 'lazy.mjs');
    await writeFile(
      script,
      `import { createRequire } from 'node:module';
      const { startServer } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/index.js'))});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/prom-client/'));
      const off = await startServer();
      const status = (await fetch(off.url.replace('ws:', 'http:').replace('/v1/ws', '/metrics'))).status;
      console.log(JSON.stringify({ status, loaded: loaded() }));
      await off.close();
      const on = await startServer({ metrics: {} });
      console.log(JSON.stringify({ status: (await fetch(on.url.replace('ws:', 'http:').replace('/v1/ws', '/metrics'))).status, loaded: loaded() }));
      await on.close();`,
    );
    const result = await runNode(script, []);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.events, [{ status: 404, loaded: false }, { status: 200, loaded: true }]);
  });

  for (const [args, pattern] of [
    [['--log-format', 'xml'], /--log-format/],
    [['--no-metrics', '--metrics-token', 'x'], /--no-metrics/],
    [['--drain-timeout', 'soon'], /--drain-timeout/],
    [['--metrics-token-file', '/nonexistent/token'], /--metrics-token-file \/nonexistent\/token/],
  ] as const) {
    test(`pareco-server ${args.join(' ')}: one line naming the option, exit 2`, async () => {
      const result = await runNode(SERVER_BIN, ['-p', '0', ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });
  }
});

describe('graceful drain (SIGTERM)', () => {
  let work: string;
  before(async () => {
    work = await tempDir('pareco-drain-');
  });

  /** Opens a session on a raw lane carrying ?route=`route`, and writes half of a 2000-byte file into its partial. */
  async function openWithPartial(server: ServerProcess, route: string, dir: string): Promise<{ lane: RawLane; opened: Record<string, unknown>; data: Buffer }> {
    const lane = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=${route}`, TOKEN);
    const opened = await lane.request(openFrame(dir));
    assert.equal(opened.t, 'opened');
    const data = Buffer.alloc(1000, 5);
    assert.equal((await lane.request({ t: 'begin', id: 2, path: 'f.bin', size: 2000 })).t, 'ok');
    const digest = new RangeDigest(await loadDigest('xxh64'), 8192).of(data);
    assert.equal((await lane.request({ t: 'write', id: 3, path: 'f.bin', offset: 0, size: data.length, data, digest })).t, 'ok');
    return { lane, opened, data };
  }

  test('readyz 503 and healthz 200 while draining; new sessions refused, the running one\'s lanes let in; exit 0 once it closes', async () => {
    const server = await startServerProcess(['-a', TOKEN, '--drain-timeout', '20s']);
    const { lane, opened } = await openWithPartial(server, 'route-one', join(work, 'one'));
    // A sync whose first lane is connected when the SIGTERM comes, its open not yet sent.
    const early = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=route-early`, TOKEN);
    const mark = server.output().length;
    server.child.kill('SIGTERM');
    await server.waitForOutput(/^draining: 1 session running/m, { from: mark });

    assert.equal((await httpGet(`${server.url}/readyz`)).status, 503);
    assert.equal((await httpGet(`${server.url}/readyz`)).body, 'draining\n');
    assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
    // A new sync (another route key, or none) is sent away with 503, so nginx tries another server.
    await assert.rejects(RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=route-two`, TOKEN), /HTTP 503/);
    await assert.rejects(RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`, TOKEN), /HTTP 503/);
    // A wrong token still gets 401, not a hint that the server drains.
    await assert.rejects(RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=route-one`, 'wrong'), /HTTP 401/);
    // A lane of the running sync (same route key) reconnecting is let in and joins.
    const again = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=route-one`, TOKEN);
    assert.deepEqual(await again.request({ t: 'join', id: 1, v: PROTOCOL_VERSION, session: opened.session, key: opened.key }), { t: 'ok', id: 1 });
    // …but an open, even on such a lane, is refused with a clear error.
    const sneaky = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws?route=route-one`, TOKEN);
    const refused = await sneaky.request(openFrame(join(work, 'sneaky')));
    assert.equal(refused.code, 'UNAVAILABLE');
    assert.match(refused.message as string, /shutting down/);
    assert.equal(existsSync(join(work, 'sneaky')), false);
    // The sync that had connected before the drain is honoured: it started before it.
    assert.equal((await early.request(openFrame(join(work, 'early')))).t, 'opened');

    const families = await scrape(server);
    assert.equal(sampleValue(families, 'pareco_draining'), 1);
    assert.equal(sampleValue(families, 'pareco_requests_total', { type: 'open', code: 'UNAVAILABLE' }), 1);
    assert.equal(sampleValue(families, 'pareco_drain_refusals_total'), 3);
    assert.equal(sampleValue(families, 'pareco_sessions_open', { mode: 'upload' }), 2);

    // The syncs end: the server is done and exits at once.
    assert.deepEqual(await lane.request({ t: 'close', id: 9 }), { t: 'closed', id: 9, cachedFiles: 0, cachedBytes: 0 });
    const closing = Date.now();
    assert.deepEqual(await early.request({ t: 'close', id: 9 }), { t: 'closed', id: 9, cachedFiles: 0, cachedBytes: 0 });
    assert.equal(await server.exited, 0);
    assert.ok(Date.now() - closing < 3000, 'exited soon after the last session closed');
    assert.match(server.output().slice(mark), /^shutting down$/m);
    assert.match(server.output().slice(mark), /^drained: no session left running$/m);
  });

  test('a second SIGTERM ends the drain at once: the session is ended, its partial file kept, exit 0', async () => {
    const server = await startServerProcess(['-a', TOKEN, '--drain-timeout', '60s']);
    const dir = join(work, 'second');
    const { data } = await openWithPartial(server, 'route-x', dir);
    server.child.kill('SIGTERM');
    await server.waitForOutput(/^draining: 1 session running/m);
    const started = Date.now();
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.ok(Date.now() - started < 3000, `exited in ${Date.now() - started} ms`);
    assert.match(server.output(), /^second signal: ending 1 session now \(partial files are kept\)$/m);
    assert.match(server.output(), /^session \S+ shutdown: upload /m);
    assert.deepEqual((await readFile(join(dir, '.f.bin.pareco-partial'))).subarray(0, 1000), data);
  });
});

describe('--log-format json', () => {
  test('one JSON object per line with time, level and event; client-chosen text stays inside its field', async () => {
    const work = await tempDir('pareco-json-log-');
    const server = await startServerProcess(['-a', TOKEN, '--log-format', 'json', '--drain-timeout', '5s']);
    const source = join(work, 'src');
    await makeTree(source, { 'a.bin': seededBytes(300_000, 'json'), 'b.txt': 'b\n' });
    // A directory name that would forge a line in a naive log.
    const dest = join(work, 'x\n{"event":"forged"}\x1b[2J');
    const result = await runPareco(['-m', 'upload', '-l', source, '-r', dest, '-s', server.url, '-a', TOKEN, '-n', '2', '--json']);
    assertOk(result);
    const lane = await RawLane.connect(`ws://127.0.0.1:${server.port}/v1/ws`, TOKEN);
    lane.send(Buffer.from('not msgpack at all'));
    await lane.closed;
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output());

    const lines = server.output().split('\n').filter((line) => line !== '');
    const events = lines.map((line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof parsed.event, 'string', line);
      assert.ok(!Number.isNaN(Date.parse(parsed.time as string)) && /Z$/.test(parsed.time as string), line);
      assert.ok(parsed.level === 'info' || parsed.level === 'warn', line);
      return parsed;
    });
    assert.ok(!events.some((e) => e.event === 'forged'));
    const byEvent = (name: string) => events.filter((e) => e.event === name);
    assert.equal(byEvent('listening')[0]!.port, server.port);
    const opened = byEvent('session-opened')[0]!;
    assert.equal(opened.dir, dest);
    assert.equal(opened.mode, 'upload');
    assert.match(opened.client as string, /^127\.0\.0\.1:\d+$/);
    assert.equal(byEvent('lane-joined').length, 1);
    const ended = byEvent('session-ended')[0]!;
    assert.equal(ended.session, opened.session);
    assert.equal(ended.reason, 'closed');
    assert.equal(ended.bytesReceived, result.summary!.bytesTransferred);
    assert.equal(ended.bytesSent, 0);
    assert.equal(typeof ended.durationMs, 'number');
    const closed = byEvent('lane-closed')[0]!;
    assert.equal(closed.code, 'PROTOCOL');
    assert.equal(closed.level, 'warn');
    assert.equal(byEvent('shutting-down').length, 1);
  });
});
