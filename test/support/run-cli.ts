import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_BIN } from './paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed NDJSON lines of stdout (when --json was given). */
  events: Record<string, unknown>[];
  /** The last {"type":"summary"} event, if any. */
  summary: Record<string, unknown> | undefined;
}

export interface RunOptions {
  cwd?: string;
  /** Added to (or, with undefined values, removed from) the cleaned environment: see testEnvironment(). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with the child as soon as it is spawned, e.g. to signal it mid-run. */
  onSpawn?: (child: ChildProcess) => void;
  /** The command line for `node args…` (to run it as another user, see unprivileged()). */
  command?: (args: string[]) => string[];
}

/**
 * Variables of the developer's own shell that would change what the CLI does: proxies
 * (either case) and extra CA certificates. Tests that want them pass them in `env`.
 */
const AMBIENT = new Set(['PARECO_AUTH_TOKEN', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'WS_PROXY', 'WSS_PROXY', 'NODE_EXTRA_CA_CERTS']);

/**
 * The tests' digest cache, shared by every test (as syncs on one machine share the user's),
 * never the developer's own: a directory per user under the temporary directory.
 */
export function testCacheHome(uid = process.getuid?.() ?? 0): string {
  return join(tmpdir(), `pareco-test-cache-${uid}`);
}

/** process.env without AMBIENT variables, with the tests' cache home, plus `extra`. */
export function testEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: testCacheHome() };
  for (const [key, value] of Object.entries(process.env)) {
    if (!AMBIENT.has(key.toUpperCase())) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs the real pareco CLI in a child process. */
export function runPareco(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runNode(CLIENT_BIN, args, options);
}

export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...argv] = options.command?.([script, ...args]) ?? [process.execPath, script, ...args];
    const child = spawn(command!, argv, {
      cwd: options.cwd,
      env: testEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events: Record<string, unknown>[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON output
        }
      }
      const summary = events.filter((e) => e.type === 'summary').at(-1);
      resolve({ code, stdout, stderr, events, summary });
    });
  });
}
