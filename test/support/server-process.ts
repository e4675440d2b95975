import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import { SERVER_BIN } from './paths.js';

export interface ServerProcess {
  port: number;
  /** http:// URL for --server. */
  url: string;
  child: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
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
      env: { ...process.env, PARECO_AUTH_TOKEN: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let settled = false;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    };
    onCleanup(() => stop('SIGKILL'));
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = /port: (\d+)/.exec(output);
      if (match && !settled) {
        settled = true;
        const port = Number(match[1]);
        resolve({ port, url: `http://127.0.0.1:${port}`, child, output: () => output, stop });
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
