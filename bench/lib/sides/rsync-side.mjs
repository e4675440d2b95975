// rsync as one side of a scenario: the shared daemon, reached through a WAN proxy of its own when
// the scenario goes over the emulated link.

import { stopChild } from '../proc.mjs';
import { runRsync } from '../runs/rsync-run.mjs';
import { startProxy } from '../services/wan-link.mjs';

export class RsyncSide {
  tool = 'rsync';
  #ctx;
  #daemon;
  #wan;
  #proxy = null;

  /** `opts`: { label, args, wan: { delayMs, window, rate } | null }; `daemon`: { port }. */
  constructor(ctx, daemon, { label = 'rsync', args = [], wan = null } = {}) {
    this.#ctx = ctx;
    this.#daemon = daemon;
    this.#wan = wan;
    this.label = label;
    this.args = args;
  }

  async start() {
    if (this.#wan) this.#proxy = await startProxy(this.#daemon.port, this.#wan);
  }

  async beginRun() {}

  /** `run`: { direction, paths, firstData, tolerateCodes }. */
  transfer(run) {
    return runRsync(this.#ctx, { ...run, port: this.#proxy?.port ?? this.#daemon.port, args: this.args, proxy: this.#proxy });
  }

  async stop() {
    if (this.#proxy) await stopChild(this.#proxy.child);
    this.#proxy = null;
  }
}
