import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseDuration } from '../../src/cli/parse-duration.js';
import { findTool, missingTools, toolPath } from '../support/external-tool.js';
import { makeTree, seededBytes } from '../support/make-tree.js';
import { httpGet } from '../support/http-get.js';
import { checkNginxConfig, startNginxWith } from '../support/nginx.js';
import { REPO_ROOT, SERVER_BIN } from '../support/paths.js';
import { parsePrometheusText } from '../support/prometheus-text.js';
import { runPareco } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-cert.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const NGINX_CONF = join(REPO_ROOT, 'deploy/nginx.conf');
const UNIT = join(REPO_ROOT, 'deploy/pareco-server.service');
const PROMETHEUS = join(REPO_ROOT, 'deploy/prometheus.yml');
const ALERTS = join(REPO_ROOT, 'deploy/alerts.yml');
/** pareco-server's --drain-timeout when none is given. */
const DEFAULT_DRAIN_TIMEOUT = 60_000;

/** Replaces `pattern` in `text`, insisting that it is there: a reshaped example must fail this test, not slip past it. */
function swap(text: string, pattern: RegExp, replacement: string): string {
  assert.match(text, pattern, `deploy file no longer has ${pattern}: update deploy-files.test.ts with it`);
  return text.replace(pattern, replacement);
}

/**
 * deploy/nginx.conf made runnable in a temp dir: test certificates, logs and pid under `dir`,
 * a loopback port, the given upstream ports, no `user` switch. Everything else is kept as is.
 */
function runnableNginxConf(text: string, options: { dir: string; port: number; upstreams: number[]; certs: TestCertificates }): string {
  const { dir } = options;
  let conf = swap(text, /^user .*;$/m, '');
  conf = swap(conf, /^pid .*;$/m, `pid ${dir}/nginx.pid;`);
  conf = swap(conf, /^(\s*error_log) \S+/m, `$1 ${dir}/error.log`);
  conf = swap(conf, /^(\s*access_log) \S+;/m, `$1 ${dir}/access.log;`);
  conf = swap(conf, /^(\s*ssl_certificate) +\S+;/m, `$1 ${options.certs.serverCert};`);
  conf = swap(conf, /^(\s*ssl_certificate_key) +\S+;/m, `$1 ${options.certs.serverKey};`);
  conf = swap(conf, /^(\s*)listen 443 ssl;$/m, `$1listen 127.0.0.1:${options.port} ssl;`);
  // IPv6 may be missing in a CI container.
  conf = swap(conf, /^\s*listen \[::\]:443 ssl;$/m, '');
  const servers = /^(\s*)server 127\.0\.0\.1:\d+((?: \S+)*);$/gm;
  assert.match(conf, servers);
  let first = true;
  conf = conf.replace(servers, (_line, indent: string, parameters: string) => {
    if (!first) return '';
    first = false;
    return options.upstreams.map((port) => `${indent}server 127.0.0.1:${port}${parameters};`).join('\n');
  });
  // Production uses the distribution's temp dirs (/var/lib/nginx), which a test may not write.
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${dir}/tmp/${kind};`).join('\n');
  return swap(conf, /^http \{$/m, `http {\n${temps}`);
}

/** The arguments of the unit's ExecStart, after the program. */
function execStartArgs(unit: string): string[] {
  const match = /^ExecStart=(\S+) (.*)$/m.exec(unit);
  assert.ok(match, 'the unit has an ExecStart line');
  return match[2]!.split(/\s+/);
}

function optionValue(args: string[], name: string): string {
  const index = args.indexOf(name);
  assert.ok(index >= 0 && index + 1 < args.length, `ExecStart passes ${name}`);
  return args[index + 1]!;
}

describe('deploy/nginx.conf', { skip: missingTools('nginx', 'openssl') }, () => {
  let certs: TestCertificates;
  let text: string;
  before(async () => {
    certs = await makeTestCertificates();
    text = await readFile(NGINX_CONF, 'utf8');
  });

  test('passes nginx -t', async () => {
    const dir = await tempDir('pareco-deploy-nginx-');
    await mkdir(join(dir, 'tmp'));
    await writeFile(join(dir, 'nginx.conf'), runnableNginxConf(text, { dir, port: 8443, upstreams: [8081, 8082], certs }));
    assert.match(await checkNginxConfig(join(dir, 'nginx.conf'), dir), /test is successful/);
  });

  test('has what a WebSocket lane needs, and timeouts well above the heartbeat', async () => {
    for (const required of [
      /map \$http_upgrade \$connection_upgrade/,
      /proxy_set_header Upgrade \$http_upgrade;/,
      /proxy_set_header Connection \$connection_upgrade;/,
      /proxy_http_version 1\.1;/,
      /hash \$arg_route consistent;/,
      /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/,
      /location \/pareco\/ \{/,
      /proxy_buffering off;/,
      // Rolling restarts: a draining server's 503 and a restarting server's refusal go to the next one…
      /proxy_next_upstream error timeout http_503;/,
      // …and the scrape of one process's counters is never served through the load balancer.
      /location = \/pareco\/metrics \{\s*return 404;/,
    ]) {
      assert.match(text, required);
    }
    // …without marking a draining server failed: its running syncs' lanes must still reach it.
    const servers = [...text.matchAll(/^\s*server 127\.0\.0\.1:\d+(.*);$/gm)];
    assert.ok(servers.length >= 2);
    for (const [line, parameters] of servers) assert.match(parameters!, /\bmax_fails=0\b/, line);
    const unitHeartbeat = parseDuration(optionValue(execStartArgs(await readFile(UNIT, 'utf8')), '--heartbeat'));
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const match = new RegExp(`${directive} (\\w+);`).exec(text);
      assert.ok(match, `${directive} is set`);
      const timeout = parseDuration(match[1]!);
      assert.ok(timeout >= 4 * unitHeartbeat, `${directive} ${match[1]} is at least 4 heartbeats (${unitHeartbeat} ms)`);
    }
  });

  describe('running for real, with servers started as the systemd unit starts them', () => {
    let servers: ServerProcess[];
    let work: string;
    before(async () => {
      work = await tempDir('pareco-deploy-run-');
      const tokenFile = join(work, 'token');
      await writeFile(tokenFile, 'deploy-token\n', { mode: 0o600 });
      const metricsTokenFile = join(work, 'metrics-token');
      await writeFile(metricsTokenFile, 'scrape-token\n', { mode: 0o600 });
      await mkdir(join(work, 'srv'));
      // The unit's own arguments, with paths and the port of this machine.
      const paths: Record<string, string> = { '/srv/pareco': join(work, 'srv'), '/etc/pareco/token': tokenFile, '/etc/pareco/metrics-token': metricsTokenFile };
      const args = execStartArgs(await readFile(UNIT, 'utf8')).map((arg) => paths[arg] ?? arg);
      const port = args.indexOf('--port');
      args.splice(port, 2, '--port', '0');
      servers = await Promise.all([1, 2].map(() => startServerProcess(args, { cwd: join(work, 'srv') })));
    });

    test('a sync with -n 4 goes through it and lands byte for byte', async () => {
      const nginx = await startNginxWith(
        (port, dir) => runnableNginxConf(text, { dir, port, upstreams: servers.map((s) => s.port), certs }),
        'https://127.0.0.1:{port}/pareco',
      );
      const source = join(work, 'src');
      await makeTree(source, { 'a.bin': seededBytes(3 * 1024 * 1024 + 1, 'deploy'), 'b/c.txt': 'deployed\n' });
      const result = await runPareco(
        ['-m', 'upload', '-l', source, '-r', 'inbox', '-s', nginx.url, '-a', 'deploy-token', '-n', '4', '--ca', certs.caCert, '--json'],
        { timeoutMs: 30_000 },
      );
      assert.equal(result.code, 0, `${result.stderr}\n${result.stdout.slice(-2000)}\n${await nginx.errorLog()}`);
      assert.deepEqual(await snapshotTree(join(work, 'srv', 'inbox')), await snapshotTree(source));

      // Metrics as deploy/prometheus.yml scrapes them: each process, its path, the metrics token.
      const scrape = await readFile(PROMETHEUS, 'utf8');
      const path = /^\s*metrics_path: (\S+)/m.exec(scrape)![1]!;
      const files = await Promise.all(servers.map((s) => httpGet(`${s.url}${path}`, { authorization: 'Bearer scrape-token' })));
      const bytes = files.map((answer) => {
        assert.equal(answer.status, 200);
        const families = parsePrometheusText(answer.body);
        return families.get('pareco_file_bytes_total')!.samples.find((sample) => sample.labels.direction === 'received')!.value;
      });
      assert.equal(bytes[0]! + bytes[1]!, 3 * 1024 * 1024 + 1 + 'deployed\n'.length, 'the sync\'s bytes, counted by the one process that held it');
      assert.equal((await httpGet(`${servers[0]!.url}${path}`, { authorization: 'Bearer deploy-token' })).status, 401, 'the sync token does not read metrics');
      // nginx does not serve one process's metrics as if they were the fleet's.
      const viaNginx = await httpGet(nginx.url.replace(/\/pareco$/, path), { authorization: 'Bearer scrape-token' }, { ca: await readFile(certs.caCert) });
      assert.equal(viaNginx.status, 404);
    });

    test('deploy/alerts.yml names only metrics the server exposes', async () => {
      const answer = await httpGet(`${servers[0]!.url}/pareco/metrics`, { authorization: 'Bearer scrape-token' });
      const exposed = new Set([...parsePrometheusText(answer.body).values()].flatMap((family) => [family.name, ...family.samples.map((s) => s.name)]));
      const named = [...(await readFile(ALERTS, 'utf8')).matchAll(/\bpareco_[a-z_]+/g)].map((m) => m[0]);
      assert.ok(named.length >= 4);
      for (const name of named) assert.ok(exposed.has(name), `${name} is exposed`);
    });
  });
});

describe('deploy/prometheus.yml', () => {
  test('scrapes every process of deploy/nginx.conf at the unit\'s base path, with the unit\'s metrics token file', async () => {
    const scrape = await readFile(PROMETHEUS, 'utf8');
    const args = execStartArgs(await readFile(UNIT, 'utf8'));
    assert.equal(/^\s*metrics_path: (\S+)/m.exec(scrape)?.[1], `${optionValue(args, '--base-path')}/metrics`);
    assert.equal(/^\s*credentials_file: (\S+)/m.exec(scrape)?.[1], optionValue(args, '--metrics-token-file'));
    assert.match(scrape, /^\s*type: Bearer$/m);
    const targets = [...scrape.matchAll(/^\s*- (127\.0\.0\.1:\d+)$/gm)].map((m) => m[1]);
    const upstreams = [...(await readFile(NGINX_CONF, 'utf8')).matchAll(/^\s*server (127\.0\.0\.1:\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(targets, upstreams);
    assert.ok(upstreams.includes(`127.0.0.1:${optionValue(args, '--port')}`));
  });
});

describe('deploy/pareco-server.service', () => {
  test('stops with SIGTERM and gives the drain time: TimeoutStopSec is above --drain-timeout', async () => {
    const unit = await readFile(UNIT, 'utf8');
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    const args = execStartArgs(unit);
    const drain = args.includes('--drain-timeout') ? parseDuration(optionValue(args, '--drain-timeout')) : DEFAULT_DRAIN_TIMEOUT;
    const stop = /^TimeoutStopSec=(\S+)$/m.exec(unit);
    assert.ok(stop, 'TimeoutStopSec is set');
    assert.ok(parseDuration(stop[1]!) >= drain + 10_000, `TimeoutStopSec ${stop[1]} leaves at least 10 s beyond the drain (${drain} ms)`);
  });

  test('its ExecStart options are ones pareco-server knows', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [SERVER_BIN, '--help']);
    for (const option of execStartArgs(await readFile(UNIT, 'utf8')).filter((arg) => arg.startsWith('--'))) {
      assert.ok(stdout.includes(option), `pareco-server --help lists ${option}`);
    }
  });

  // Optional even in CI (PARECO_REQUIRE_TOOLS=1): containers seldom have systemd.
  test('passes systemd-analyze verify', { skip: findTool('systemd-analyze') ? undefined : 'systemd-analyze is not installed' }, async () => {
    const dir = await tempDir('pareco-deploy-unit-');
    // verify insists that the program exists: point it at this checkout's.
    const unit = swap(await readFile(UNIT, 'utf8'), /^ExecStart=\S+/m, `ExecStart=${SERVER_BIN}`);
    const file = join(dir, 'pareco-server.service');
    await writeFile(file, unit);
    let output: string;
    try {
      const { stdout, stderr } = await promisify(execFile)(toolPath('systemd-analyze'), ['verify', file]);
      output = stdout + stderr;
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      assert.fail(`systemd-analyze verify failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
    // It exits 0 on unknown keys and bad values, only warning: any word about our file is a failure.
    const ours = output.split('\n').filter((line) => line.includes('pareco-server.service'));
    assert.deepEqual(ours, []);
  });
});
