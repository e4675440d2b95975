import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from './external-tool.js';
import { withFreePorts } from './free-port.js';
import { tempDir } from './temp-dir.js';
import type { TestCertificates } from './tls-cert.js';
import { startToolProcess, type ToolProcess } from './tool-process.js';

export interface NginxOptions {
  /** Ports of the pareco-servers on 127.0.0.1 behind nginx (one upstream block holds them all). */
  upstreams: number[];
  /** Terminate TLS with this certificate; plain HTTP without it. */
  tls?: TestCertificates;
  /** The location nginx forwards (servers must run with the same --base-path). Default /pareco. */
  basePath?: string;
  /** `hash $arg_route consistent;` in the upstream: every lane of a sync reaches the same server. */
  hashRoute?: boolean;
  /** proxy_read_timeout and proxy_send_timeout, nginx syntax. Default 3s: short, so idle cuts show fast. */
  timeout?: string;
  /** Source address of nginx's upstream connections, so a server can tell nginx from the real client. */
  proxyBind?: string;
  /**
   * What deploy/nginx.conf does for rolling restarts: a 503 (a draining server) or a refused
   * connection sends the request to the next server (`proxy_next_upstream error timeout
   * http_503`), and no server is marked failed for it (`max_fails=0`).
   */
  nextUpstream?: boolean;
}

export interface Nginx {
  port: number;
  /** ws(s)://127.0.0.1:PORT/base-path: what a client passes to --server. */
  url: string;
  dir: string;
  /** error.log so far: where nginx says "upstream timed out" when it cuts an idle connection. */
  errorLog(): Promise<string>;
  /** access.log so far, one line per finished request (generated config: `route=… upstream=… status=… "request"`). */
  accessLog(): Promise<string>;
  process: ToolProcess;
}

/** The nginx.conf for `options`, listening on `port`, with every file nginx writes under `dir`. */
export function nginxConfig(options: NginxOptions, port: number, dir: string): string {
  const base = (options.basePath ?? '/pareco').replace(/\/+$/, '');
  const timeout = options.timeout ?? '3s';
  const lines = [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 1024; }',
    'http {',
    `  log_format pareco 'route=$arg_route upstream=$upstream_addr status=$status "$request"';`,
    `  access_log ${dir}/access.log pareco;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/tmp/${kind};`),
    '  map $http_upgrade $connection_upgrade { default upgrade; "" close; }',
    '  upstream pareco {',
    ...(options.hashRoute ? ['    hash $arg_route consistent;'] : []),
    ...options.upstreams.map((upstream) => `    server 127.0.0.1:${upstream}${options.nextUpstream ? ' max_fails=0' : ''};`),
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port}${options.tls ? ' ssl' : ''};`,
    ...(options.tls ? [`    ssl_certificate ${options.tls.serverCert};`, `    ssl_certificate_key ${options.tls.serverKey};`] : []),
    `    location ${base}/ {`,
    '      proxy_pass http://pareco;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    `      proxy_read_timeout ${timeout};`,
    `      proxy_send_timeout ${timeout};`,
    '      proxy_buffering off;',
    ...(options.proxyBind ? [`      proxy_bind ${options.proxyBind};`] : []),
    ...(options.nextUpstream ? ['      proxy_next_upstream error timeout http_503;'] : []),
    '    }',
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/** Starts a real nginx (single process, foreground) with a generated config; stopped when the test file ends. */
export function startNginx(options: NginxOptions): Promise<Nginx> {
  const base = (options.basePath ?? '/pareco').replace(/\/+$/, '');
  return startNginxWith((port, dir) => nginxConfig(options, port, dir), `${options.tls ? 'wss' : 'ws'}://127.0.0.1:{port}${base}`);
}

/**
 * Starts nginx with the config `makeConfig` writes for a free `port` and a temp `dir` (for its
 * logs, pid and temp files); `url` is the client URL with `{port}` in it. The config must not
 * set `daemon` or `master_process`: nginx runs as one foreground process.
 */
export async function startNginxWith(makeConfig: (port: number, dir: string) => string, url: string): Promise<Nginx> {
  const nginx = toolPath('nginx');
  const dir = await tempDir('pareco-nginx-');
  await mkdir(join(dir, 'tmp'));
  const read = (name: string) => () => readFile(join(dir, name), 'utf8').catch(() => '');
  const errorLog = read('error.log');
  return withFreePorts(1, async ([port]) => {
    await writeFile(join(dir, 'nginx.conf'), makeConfig(port!, dir));
    const process = await startToolProcess({
      command: nginx,
      args: ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off; master_process off;'],
      port: port!,
      describeFailure: errorLog,
    });
    return { port: port!, url: url.replace('{port}', String(port)), dir, errorLog, accessLog: read('access.log'), process };
  });
}

/** Runs `nginx -t` on a config file; resolves with its output, rejects with it when the config is invalid. */
export async function checkNginxConfig(file: string, prefix: string): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(toolPath('nginx'), ['-t', '-p', prefix, '-c', file, '-e', join(prefix, 'error.log')]);
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`nginx -t -c ${file} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}
