import { spawn, type ChildProcess } from 'node:child_process';
import { onCleanup } from './cleanup.js';
import { waitForPort } from './free-port.js';

/** An external program (nginx, squid, tinyproxy) run in the foreground for the test file. */
export interface ToolProcess {
  child: ChildProcess;
  /** What it printed on stdout and stderr so far (the last 64 KiB). */
  output(): string;
  /** Stops it (idempotent) and resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ToolProcessOptions {
  command: string;
  args: string[];
  cwd?: string;
  /** Ready once this port of 127.0.0.1 accepts connections. */
  port: number;
  /** The signal that ends it quickly; SIGKILL follows after 3 s in any case. */
  stopSignal?: NodeJS.Signals;
  /** More to show when it fails to start, e.g. its own log file. */
  describeFailure?: () => Promise<string>;
}

/** Starts `command`, resolves once `port` accepts connections; stopped when the test file ends. */
export async function startToolProcess(options: ToolProcessOptions): Promise<ToolProcess> {
  const child = spawn(options.command, options.args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Consumed so that a chatty program never blocks on a full pipe (and the test file can end).
  const keep = (data: Buffer) => (output = (output + data.toString()).slice(-65_536));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null && spawnError === undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (running()) {
        child.kill(options.stopSignal ?? 'SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
      }
    })());
  onCleanup(stop);
  const name = options.command.split('/').at(-1);
  try {
    await waitForPort(options.port, {
      gaveUp: () => (running() ? undefined : new Error(`${name} exited before listening on ${options.port}`)),
    });
  } catch (error) {
    await stop();
    const more = options.describeFailure ? await options.describeFailure().catch(() => '') : '';
    throw new Error(`${(error as Error).message}\n${name} ${options.args.join(' ')}\n${spawnError?.message ?? ''}${output}${more}`, { cause: error });
  }
  return { child, output: () => output, stop };
}
