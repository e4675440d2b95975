import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.js';
import { toolPath } from './external-tool.js';
import { withFreePorts } from './free-port.js';
import { tempDir } from './temp-dir.js';
import { startToolProcess, type ToolProcess } from './tool-process.js';

/** One CONNECT the proxy handled, read from its log. */
export interface ConnectRecord {
  /** host:port the client asked for, e.g. 127.0.0.1:41234 */
  target: string;
  /** HTTP status the proxy answered (squid logs it; tinyproxy does not). */
  status?: number;
  /** The authenticated user (squid with auth). */
  user?: string;
}

/** A real HTTP forward proxy on 127.0.0.1, with its log, to prove traffic went through it. */
export interface ForwardProxy {
  kind: 'squid' | 'tinyproxy';
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The proxy URL with basic-auth credentials in it, as a user would write it in HTTPS_PROXY. */
  urlWith(user: string, password: string): string;
  /** The CONNECT requests logged so far. */
  connects(): Promise<ConnectRecord[]>;
  /**
   * Waits (up to `timeoutMs`) until at least `count` CONNECTs are logged and returns them: squid
   * writes a tunnel's line only when it closes, a moment after the client exits.
   */
  waitForConnects(count: number, timeoutMs?: number): Promise<ConnectRecord[]>;
  process: ToolProcess;
}

export interface SquidOptions {
  /**
   * connect-only: CONNECT to any port of 127.0.0.1 and nothing else (no plain forwarding, like a
   * corporate proxy that only tunnels); deny-all: every request gets 403.
   */
  policy?: 'connect-only' | 'deny-all';
  /** Require basic auth (squid's basic_ncsa_auth with an htpasswd file): wrong or no credentials get 407. */
  auth?: { user: string; password: string };
}

const NCSA_AUTH_CANDIDATES = ['/usr/lib/squid/basic_ncsa_auth', '/usr/lib64/squid/basic_ncsa_auth', '/usr/libexec/squid/basic_ncsa_auth'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function proxyHandle(kind: ForwardProxy['kind'], port: number, process: ToolProcess, connects: () => Promise<ConnectRecord[]>): ForwardProxy {
  const url = `http://127.0.0.1:${port}`;
  return {
    kind,
    port,
    url,
    urlWith: (user, password) => `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    connects,
    async waitForConnects(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = await connects();
        if (seen.length >= count || Date.now() > deadline) return seen;
        await sleep(50);
      }
    },
    process,
  };
}

/**
 * Starts squid in the foreground (-N) with a config allowing only what `options` say; cache,
 * logs and pid stay in a temp dir. Starts in about half a second.
 */
export async function startSquid(options: SquidOptions = {}): Promise<ForwardProxy> {
  const squid = toolPath('squid');
  const dir = await tempDir('pareco-squid-');
  // squid names its shared-memory segments (/dev/shm/NAME-cf__*.shm) after its service name:
  // a name of its own keeps instances (and another user's leftovers) from colliding. A
  // SIGKILLed squid leaves them behind, so they go when the test file ends (after the stop,
  // which is registered later and so runs first).
  const service = `pareco${randomBytes(6).toString('hex')}`;
  onCleanup(async () => {
    const names = await readdir('/dev/shm').catch(() => [] as string[]);
    await Promise.all(names.filter((name) => name.startsWith(`${service}-`)).map((name) => rm(join('/dev/shm', name), { force: true })));
  });
  // Run as root, squid drops to its own user (proxy), which must be able to write its logs here.
  await chmod(dir, 0o777);
  const lines = [
    'pid_filename none',
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log squid`,
    `coredump_dir ${dir}`,
    'cache deny all',
    'cache_mem 8 MB',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'acl CONNECT method CONNECT',
    'acl loopback_target dst 127.0.0.1',
  ];
  if (options.auth) {
    const helper = NCSA_AUTH_CANDIDATES.find(executable);
    if (helper === undefined) throw new Error(`squid's basic_ncsa_auth helper not found in ${NCSA_AUTH_CANDIDATES.join(', ')}`);
    const { stdout } = await promisify(execFile)(toolPath('openssl'), ['passwd', '-apr1', options.auth.password]);
    await writeFile(join(dir, 'htpasswd'), `${options.auth.user}:${stdout.trim()}\n`, { mode: 0o644 });
    lines.push(
      `auth_param basic program ${helper} ${dir}/htpasswd`,
      'auth_param basic children 1 startup=1 idle=1',
      'auth_param basic realm pareco-test',
      'acl authenticated proxy_auth REQUIRED',
    );
  }
  if ((options.policy ?? 'connect-only') === 'deny-all') {
    lines.push('http_access deny all');
  } else {
    lines.push('http_access deny !CONNECT', 'http_access deny !loopback_target');
    lines.push(options.auth ? 'http_access allow authenticated' : 'http_access allow all', 'http_access deny all');
  }
  const accessLog = () => readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
  return withFreePorts(1, async ([port]) => {
    await writeFile(join(dir, 'squid.conf'), [`http_port 127.0.0.1:${port}`, ...lines, ''].join('\n'));
    const process = await startToolProcess({
      command: squid,
      args: ['-N', '-n', service, '-f', join(dir, 'squid.conf')],
      port: port!,
      // squid takes seconds to shut down even when told not to wait; nothing of it needs to survive.
      stopSignal: 'SIGKILL',
      describeFailure: () => readFile(join(dir, 'cache.log'), 'utf8'),
    });
    return proxyHandle('squid', port!, process, async () => parseSquidLog(await accessLog()));
  });
}

/** CONNECT lines of squid's native access log: `time elapsed client CODE/STATUS bytes CONNECT host:port user hierarchy type`. */
function parseSquidLog(log: string): ConnectRecord[] {
  const records: ConnectRecord[] = [];
  for (const line of log.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[5] !== 'CONNECT') continue;
    const status = Number(fields[3]?.split('/')[1]);
    const user = fields[7];
    records.push({ target: fields[6]!, status, ...(user !== undefined && user !== '-' ? { user } : {}) });
  }
  return records;
}

/**
 * Starts tinyproxy in the foreground (-d), allowing CONNECT to `connectPorts` only: a second,
 * independent proxy implementation (its CONNECT reply is HTTP/1.0 with its own headers).
 */
export async function startTinyproxy(options: { connectPorts: number[] }): Promise<ForwardProxy> {
  const tinyproxy = toolPath('tinyproxy');
  const dir = await tempDir('pareco-tinyproxy-');
  await chmod(dir, 0o777);
  const log = () => readFile(join(dir, 'tinyproxy.log'), 'utf8').catch(() => '');
  return withFreePorts(1, async ([port]) => {
    const config = [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 600',
      `LogFile "${dir}/tinyproxy.log"`,
      'LogLevel Connect',
      'MaxClients 100',
      'Allow 127.0.0.1',
      ...options.connectPorts.map((p) => `ConnectPort ${p}`),
      `PidFile "${dir}/tinyproxy.pid"`,
      '',
    ];
    await writeFile(join(dir, 'tinyproxy.conf'), config.join('\n'));
    const process = await startToolProcess({
      command: tinyproxy,
      args: ['-d', '-c', join(dir, 'tinyproxy.conf')],
      port: port!,
      describeFailure: log,
    });
    return proxyHandle('tinyproxy', port!, process, async () =>
      [...(await log()).matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => ({ target: m[1]! })),
    );
  });
}
