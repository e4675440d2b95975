import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import { SERVER_BIN } from './paths.js';
import { testCacheHome } from './run-cli.js';

export interface ServerProcess {
  port: number;
  /** http:// URL for --server. */
  url: string;
  child: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output from `from` on (a length of output()); rejects after `timeoutMs`. */
  waitForOutput(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the server has exited by itself (null: killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts a real pareco-server on a free loopback port; stopped when the test file ends. */
export function startServerProcess(
  args: string[] = [],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; command?: (args: string[]) => string[] } = {},
): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const nodeArgs = [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', ...args];
    const [command, ...argv] = options.command?.(nodeArgs) ?? [process.execPath, ...nodeArgs];
    const child = spawn(command!, argv, {
      cwd: options.cwd,
      env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), PARECO_AUTH_TOKEN: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let settled = false;
    const waitForOutput = (pattern: RegExp, { from = 0, timeoutMs = 10_000 }: { from?: number; timeoutMs?: number } = {}) =>
      new Promise<RegExpExecArray>((found, failed) => {
        const done = () => {
          clearTimeout(timer);
          child.stdout!.off('data', look);
          child.stderr!.off('data', look);
          child.off('close', gone);
        };
        const look = () => {
          const match = pattern.exec(output.slice(from));
          if (match === null) return false;
          done();
          found(match);
          return true;
        };
        const give = (why: string) => {
          done();
          failed(new Error(`pareco-server ${why} without printing anything matching ${pattern}:\n${output}`));
        };
        // 'close' comes after the last output: nothing more can match.
        const gone = () => look() || give(`exited (${child.exitCode ?? child.signalCode})`);
        // Unref'd: a wait that lost a race (the other server matched) must not hold the test file open.
        const timer = setTimeout(() => give(`ran ${timeoutMs} ms`), timeoutMs).unref();
        if (look()) return;
        // Registered after onData (below), so `output` already holds the new data.
        child.stdout!.on('data', look);
        child.stderr!.on('data', look);
        child.once('close', gone);
      });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    };
    onCleanup(() => stop('SIGKILL'));
    const onData = (d: Buffer) => {
      output += d.toString();
      // The plain banner says `port: N`; with --log-format json it is `"port":N`.
      const match = /port: (\d+)|"port":(\d+)/.exec(output);
      if (match && !settled) {
        settled = true;
        const port = Number(match[1] ?? match[2]);
        resolve({ port, url: `http://127.0.0.1:${port}`, child, output: () => output, waitForOutput, stop, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`pareco-server exited with ${code} before listening:\n${output}`));
      }
    });
  });
}
