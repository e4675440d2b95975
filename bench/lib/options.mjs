// Command-line options and the configuration they select (full or --quick sizes).

import os from 'node:os';
import path from 'node:path';

import { GiB, MiB } from './format.mjs';
import { parseSize } from '../wan-proxy.mjs';

const DEFAULT_SCALE_DIR = path.join(os.tmpdir(), 'pareco-bench-scale');

export const HELP = `usage: npm run bench [-- options]
  --quick            smaller data (256 MiB instead of 1 GiB, …) and 2 repetitions
  --only A,B,...     run only these scenarios, whatever the flags below (ids: A B B2 C1 C2 C3 C4
                     D E E2 F G H-A H-B H-D O-A O-D Z-random, with --db Z M, with --scale
                     S-fresh-10k S-skip-10k S-digest-10k … -100k … -1m; groups: H = H-*, O = O-*,
                     S = S-*; case does not matter)
  --db               also run the PostgreSQL scenarios Z and M (≈ 3.5 min more; installs
                     postgresql-15 with apt-get if missing)
  --scale            also run S: 10,000 / 100,000 / 1,000,000 small files (--quick: 1,000 /
                     10,000 / 100,000); the source trees are generated once and kept
  --scale-dir DIR    where S's source trees are kept (default: ${DEFAULT_SCALE_DIR})
  --reps N           repetitions of each tool per scenario (default 3, --quick 2; S at
                     1,000,000 files: 1)
  --tmp DIR          where the temporary data lives (default: ${os.tmpdir()})
  --keep             keep the temporary directory
  --delay MS         WAN one-way delay per direction (default 25)
  --window SIZE      WAN in-flight window per connection and direction (default 1M)
  --rate SIZE        total bandwidth of the capped link in Z and Z-random, bytes per second,
                     shared by all connections of a tool, per direction (default 20M = 20 MiB/s)
  --timeout SECONDS  kill a single run after this long (default 300, --quick 120; S longer)
  --corrupt TOOL     self-test of the checker: flip one byte of the destination after the first
                     run of TOOL (pareco or rsync); every scenario must then FAIL`;

export function parseArgs(argv) {
  const o = {
    quick: false, only: null, reps: null, tmp: os.tmpdir(), keep: false, delayMs: 25, window: MiB, rate: 20 * MiB, timeoutS: null,
    db: false, scale: false, scaleDir: DEFAULT_SCALE_DIR,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = v().split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    else if (a === '--reps') o.reps = Number(v());
    else if (a === '--tmp') o.tmp = v();
    else if (a === '--keep') o.keep = true;
    else if (a === '--delay') o.delayMs = Number(v());
    else if (a === '--window') o.window = parseSize(v());
    else if (a === '--rate') o.rate = parseSize(v());
    else if (a === '--db') o.db = true;
    else if (a === '--scale') o.scale = true;
    else if (a === '--scale-dir') o.scaleDir = path.resolve(v());
    else if (a === '--timeout') o.timeoutS = Number(v());
    else if (a === '--corrupt') o.corrupt = v();
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.corrupt !== undefined && !['pareco', 'rsync'].includes(o.corrupt)) throw new Error('--corrupt takes pareco or rsync');
  if (o.reps !== null && !(Number.isInteger(o.reps) && o.reps >= 1)) throw new Error('--reps must be a positive integer');
  if (!(o.delayMs >= 0)) throw new Error('--delay must be >= 0');
  if (o.timeoutS !== null && !(o.timeoutS > 0)) throw new Error('--timeout must be > 0');
  if (!(o.rate > 0)) throw new Error('--rate must be > 0');
  return o;
}

/** Data sizes, repetitions and time limits of a run, from the options. */
export function configFor(opts) {
  const cfg = opts.quick
    ? { mode: 'quick', reps: 2, big: 256 * MiB, bEdits: 100, b2Pages: 500, dFiles: 2500, eSize: 128 * MiB, e2Pages: 250, fFiles: 1000, gFiles: 20000, timeoutS: 120, scenarioBudgetS: 40 }
    : { mode: 'full', reps: 3, big: 1 * GiB, bEdits: 100, b2Pages: 2000, dFiles: 10000, eSize: 256 * MiB, e2Pages: 500, fFiles: 2000, gFiles: 100000, timeoutS: 300, scenarioBudgetS: 120 };
  if (opts.reps) cfg.reps = opts.reps;
  if (opts.timeoutS) cfg.timeoutS = opts.timeoutS;
  cfg.delayMs = opts.delayMs;
  cfg.window = opts.window;
  cfg.rate = opts.rate;
  // New scenarios: Z-random's file; PostgreSQL (Z, M); S's sizes.
  Object.assign(cfg, opts.quick
    ? { randomSize: 64 * MiB, pgScale: 5, pgRate: 200, pgSeconds: 8, mBudgetS: 90, scaleSizes: [1000, 10000, 100000] }
    : { randomSize: 256 * MiB, pgScale: 20, pgRate: 200, pgSeconds: 15, mBudgetS: 240, scaleSizes: [10000, 100000, 1000000] });
  cfg.scaleDir = opts.scaleDir;
  return cfg;
}

/** The configuration as recorded in results.json. */
export function configRecord(cfg) {
  return {
    mode: cfg.mode, reps: cfg.reps, bigFile: cfg.big, bEdits: cfg.bEdits, b2Pages: cfg.b2Pages, dFiles: cfg.dFiles,
    wanFile: cfg.eSize, e2Pages: cfg.e2Pages, fFiles: cfg.fFiles, gFiles: cfg.gFiles,
    wan: { delayMs: cfg.delayMs, windowBytes: cfg.window, rateBytesPerS: cfg.rate }, runTimeoutS: cfg.timeoutS, scenarioBudgetS: cfg.scenarioBudgetS,
    randomFile: cfg.randomSize, postgres: { scale: cfg.pgScale, pgbenchRate: cfg.pgRate, pgbenchSeconds: cfg.pgSeconds },
    scale: { sizes: cfg.scaleSizes, dir: cfg.scaleDir },
  };
}
