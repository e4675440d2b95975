// Pareco as one side of a scenario: its server (and WAN proxy), its cache directories, and its
// timed runs. Caches live in the run's temporary directory, never in the user's: the client's
// through XDG_CACHE_HOME, the server's through --cache-dir when the build has it (and
// XDG_CACHE_HOME too). With cache 'scenario' they persist over the scenario's runs (the second
// run finds the first run's digests); with cache 'run' every repetition gets empty ones and a
// server of its own, started before the repetition (not timed).

import fs from 'node:fs';
import path from 'node:path';

import { readProcIo, ioDelta } from '../proc-io.mjs';
import { stopChild, vmHwmKiB } from '../proc.mjs';
import { runPareco } from '../runs/pareco-run.mjs';
import { startParecoServer } from '../services/pareco-server.mjs';
import { startProxy } from '../services/wan-link.mjs';

export class ParecoSide {
  tool = 'pareco';
  #ctx;
  #opts;
  #server = null;
  #proxy = null;
  #clientCache = null;
  serverPeakKiB = null;
  serverLog = [];

  /**
   * `opts`: { name, label, args, serverArgs, cache: 'scenario' | 'run', wan: { delayMs, window,
   * rate } | null, cacheRoot }.
   */
  constructor(ctx, opts) {
    this.#ctx = ctx;
    this.#opts = { ...opts, args: opts.args ?? [], serverArgs: opts.serverArgs ?? [], cache: opts.cache ?? 'scenario', wan: opts.wan ?? null };
    this.label = this.#opts.label ?? 'Pareco';
    this.args = this.#opts.args;
  }

  async start() {
    if (this.#opts.cache === 'scenario') await this.#startServer('scenario');
  }

  /** Before each repetition: with cache 'run', empty caches and a new server. */
  async beginRun(rep) {
    if (this.#opts.cache !== 'run') return;
    await this.#stopServer();
    await this.#startServer(`run-${rep}`);
  }

  /** `run`: { direction, paths, io, firstData, tolerant }. */
  async transfer(run) {
    const pid = this.#server.child.pid;
    const serverBefore = run.io ? readProcIo(pid) : null;
    const r = await runPareco(this.#ctx, {
      ...run, url: this.url, args: this.args, env: { XDG_CACHE_HOME: this.#clientCache }, proxy: this.#proxy,
    });
    if (run.io) r.serverIo = ioDelta(serverBefore, readProcIo(pid)) ?? undefined;
    return r;
  }

  async stop() {
    await this.#stopServer();
  }

  async #startServer(tag) {
    const dir = path.join(this.#opts.cacheRoot, this.#opts.name, tag);
    this.#clientCache = path.join(dir, 'client');
    const serverCache = path.join(dir, 'server');
    fs.mkdirSync(this.#clientCache, { recursive: true });
    fs.mkdirSync(serverCache, { recursive: true });
    const { serverArgs } = this.#opts;
    const cacheArgs = this.#ctx.features.server.cacheDir && !serverArgs.includes('--no-cache') ? ['--cache-dir', serverCache] : [];
    this.#server = await startParecoServer(this.#ctx.work, { args: [...serverArgs, ...cacheArgs], env: { XDG_CACHE_HOME: serverCache } });
    this.url = `http://127.0.0.1:${this.#server.port}`;
    if (this.#opts.wan) {
      this.#proxy = await startProxy(this.#server.port, this.#opts.wan);
      this.url = `http://127.0.0.1:${this.#proxy.port}`;
    }
  }

  async #stopServer() {
    if (this.#proxy) await stopChild(this.#proxy.child);
    this.#proxy = null;
    if (!this.#server) return;
    const hwm = vmHwmKiB(this.#server.child.pid);
    if (hwm !== null) this.serverPeakKiB = Math.max(this.serverPeakKiB ?? 0, hwm);
    await stopChild(this.#server.child);
    this.serverLog.push(...this.#server.log().split('\n').filter((l) => /error|warn/i.test(l)).slice(0, 10 - this.serverLog.length));
    this.#server = null;
  }
}
