#!/usr/bin/env node
// Pareco vs rsync benchmark harness. See bench/README.md.
//   npm run bench [-- --quick] [-- --only A,B,H] [--reps N] [--tmp DIR] [--keep]
//                 [--delay MS] [--window SIZE] [--timeout SECONDS]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';

import { MiB, T0, writeBigFile, applyEdits, writeSmallFiles } from './lib/data.mjs';
import { runMeasured, sh, startService, stopChild, freePort, canConnect, vmHwmKiB, killAllChildren, track, TIME_BIN } from './lib/proc.mjs';
import { compareTrees, snapshotTree } from './lib/verify.mjs';
import { parseSize } from './wan-proxy.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const OUT_DIR = path.join(BENCH_DIR, 'out');
const NODE = process.execPath;
const GiB = 1024 * MiB;
const KiB = 1024;

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: npm run bench [-- options]
  --quick            smaller data (256 MiB instead of 1 GiB, …) and 2 repetitions
  --only A,B,...     run only these scenarios (ids: A B B2 C1 C2 D E E2 F G H-A H-B H-D; H = all H-*)
  --reps N           repetitions of each tool per scenario (default 3, --quick 2)
  --tmp DIR          where the temporary data lives (default: ${os.tmpdir()})
  --keep             keep the temporary directory
  --delay MS         WAN one-way delay per direction (default 25)
  --window SIZE      WAN in-flight window per connection and direction (default 1M)
  --timeout SECONDS  kill a single run after this long (default 300, --quick 120)
  --corrupt TOOL     self-test of the checker: flip one byte of the destination after the first
                     run of TOOL (pareco or rsync); every scenario must then FAIL`;

function parseArgs(argv) {
  const o = { quick: false, only: null, reps: null, tmp: os.tmpdir(), keep: false, delayMs: 25, window: MiB, timeoutS: null };
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
    else if (a === '--timeout') o.timeoutS = Number(v());
    else if (a === '--corrupt') o.corrupt = v();
    else if (a === '-h' || a === '--help') { console.log(HELP); process.exit(0); }
    else throw new Error(`unknown option ${a}`);
  }
  if (o.corrupt !== undefined && !['pareco', 'rsync'].includes(o.corrupt)) throw new Error('--corrupt takes pareco or rsync');
  if (o.reps !== null && !(Number.isInteger(o.reps) && o.reps >= 1)) throw new Error('--reps must be a positive integer');
  if (!(o.delayMs >= 0)) throw new Error('--delay must be >= 0');
  if (o.timeoutS !== null && !(o.timeoutS > 0)) throw new Error('--timeout must be > 0');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${e.message}\n${HELP}`);
  process.exit(2);
}

const CFG = opts.quick
  ? { mode: 'quick', reps: 2, big: 256 * MiB, bEdits: 100, b2Pages: 500, dFiles: 2500, eSize: 128 * MiB, e2Pages: 250, fFiles: 1000, gFiles: 20000, timeoutS: 120, scenarioBudgetS: 40 }
  : { mode: 'full', reps: 3, big: 1 * GiB, bEdits: 100, b2Pages: 2000, dFiles: 10000, eSize: 256 * MiB, e2Pages: 500, fFiles: 2000, gFiles: 100000, timeoutS: 300, scenarioBudgetS: 120 };
if (opts.reps) CFG.reps = opts.reps;
if (opts.timeoutS) CFG.timeoutS = opts.timeoutS;
CFG.delayMs = opts.delayMs;
CFG.window = opts.window;

// ---------------------------------------------------------------------------------------------
// Formatting helpers

const fmtBytes = (n) => {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n < KiB) return `${n} B`;
  if (n < MiB) return `${(n / KiB).toFixed(1)} KiB`;
  if (n < GiB) return `${(n / MiB).toFixed(n < 10 * MiB ? 2 : 1)} MiB`;
  return `${(n / GiB).toFixed(2)} GiB`;
};
const fmtSize = (n) => (n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : fmtBytes(n));
const fmtS = (ms) => (ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(2));
const fmtRss = (kib) => (kib === null || kib === undefined ? '–' : `${Math.round(kib / 1024)} MiB`);
const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number').sort((x, y) => x - y);
  if (!a.length) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const maxOf = (xs) => {
  const a = xs.filter((x) => typeof x === 'number');
  return a.length ? Math.max(...a) : null;
};
const useColor = process.stderr.isTTY;
const red = (s) => (useColor ? `\x1b[1;31m${s}\x1b[0m` : s);
const log = (s) => process.stderr.write(`${s}\n`);
const num = (s) => Number(String(s).replace(/,/g, ''));

// ---------------------------------------------------------------------------------------------
// Environment: build, rsync, machine facts

function ensureBuilt() {
  if (fs.existsSync(path.join(REPO, 'dist/src/cli/client-cli.js')) && fs.existsSync(path.join(REPO, 'dist/src/cli/server-cli.js'))) {
    const newest = (dir) => {
      let t = 0;
      const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else t = Math.max(t, fs.statSync(p).mtimeMs);
        }
      };
      try { walk(dir); } catch { /* ignore */ }
      return t;
    };
    if (newest(path.join(REPO, 'src')) > newest(path.join(REPO, 'dist/src'))) {
      log('bench: warning: src/ is newer than dist/ — measuring the existing build (run `npm run build` to refresh)');
      return 'stale';
    }
    return 'ok';
  }
  // Someone else may be building right now (the build removes dist/ first): give it a moment.
  const built = () => fs.existsSync(path.join(REPO, 'dist/src/cli/client-cli.js')) && fs.existsSync(path.join(REPO, 'dist/src/cli/server-cli.js'));
  for (let i = 0; i < 30 && !built(); i++) spawnSync('sleep', ['1']);
  if (built()) return 'ok';
  log('bench: dist/ missing, running npm run build …');
  sh('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
  return 'built';
}

function ensureRsync() {
  const has = () => spawnSync('rsync', ['--version'], { encoding: 'utf8' }).status === 0;
  if (has()) return;
  log('bench: rsync not found, installing it with apt-get …');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (...args) => spawnSync(sudo[0] ?? 'apt-get', sudo.length ? [...sudo.slice(1), 'apt-get', ...args] : args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (apt('install', '-y', 'rsync').status !== 0) {
    apt('update');
    apt('install', '-y', 'rsync');
  }
  if (!has()) throw new Error('rsync is missing and could not be installed (apt-get install -y rsync)');
}

function machineInfo(workDir, buildState) {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  const nproc = spawnSync('nproc', [], { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
  const rsyncVersion = spawnSync('rsync', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim().replace(/\s+/g, ' ');
  const git = (args) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout?.trim() || null;
  const rev = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'protocol']);
  const help = spawnSync(NODE, ['bin/pareco.js', '--help'], { cwd: REPO, encoding: 'utf8' }).stdout ?? '';
  const fsType = spawnSync('df', ['-T', workDir], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/)[1] ?? '?';
  return {
    nproc: Number(nproc),
    cpu,
    node: process.version,
    rsync: rsyncVersion,
    kernel: `${os.type()} ${os.release()}`,
    memTotalGiB: +(os.totalmem() / GiB).toFixed(1),
    pareco: `${rev ?? '?'}${dirty ? ' + uncommitted changes in src/' : ''}${buildState === 'stale' ? ' (dist/ older than src/)' : ''}`,
    parecoHasBlockOption: /--block\b/.test(help),
    dataDir: `${workDir} (${fsType})`,
    loadAvgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    rssProbe: TIME_BIN ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS (bench/rss-wrap.mjs)',
  };
}

// ---------------------------------------------------------------------------------------------
// Work directory, cleanup

fs.mkdirSync(opts.tmp, { recursive: true });
const WORK = fs.mkdtempSync(path.join(opts.tmp, 'pareco-bench-'));
const DATA = path.join(WORK, 'data'); // the rsync module root; also where pareco reads/writes
const ETC = path.join(WORK, 'etc');
fs.mkdirSync(DATA);
fs.mkdirSync(ETC);

let cleaned = false;
function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  killAllChildren();
  if (opts.keep) {
    log(`bench: kept ${WORK}`);
    return;
  }
  try { fs.rmSync(WORK, { recursive: true, force: true }); } catch (e) { log(`bench: could not remove ${WORK}: ${e.message}`); }
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`\nbench: ${sig}, stopping children and removing ${WORK} …`);
    cleanupSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
process.on('uncaughtException', (e) => {
  log(red(`bench: fatal: ${e.stack ?? e}`));
  cleanupSync();
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  log(red(`bench: fatal: ${e?.stack ?? e}`));
  cleanupSync();
  process.exit(1);
});

const rmrf = (p) => sh('rm', ['-rf', '--', p]);
const cpTree = (from, to) => sh('cp', ['--reflink=auto', '-a', '--', from, to]);
const link = (from, to) => {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.linkSync(from, to);
};
const syncDisks = () => spawnSync('sync');

// ---------------------------------------------------------------------------------------------
// Services

async function startRsyncDaemon() {
  const isRoot = process.getuid?.() === 0;
  const conf = path.join(ETC, 'rsyncd.conf');
  fs.writeFileSync(conf, [
    'use chroot = false',
    'reverse lookup = no',
    'max connections = 0',
    `pid file = ${path.join(ETC, 'rsyncd.pid')}`,
    ...(isRoot ? ['uid = root', 'gid = root'] : []),
    '',
    '[bench]',
    `  path = ${DATA}`,
    '  read only = false',
    '  list = yes',
    '',
  ].join('\n'));
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const child = track(
      spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1', `--log-file=${path.join(ETC, 'rsyncd.log')}`], { detached: true, stdio: 'ignore' }),
    );
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i++) {
      if (await canConnect(port)) return { child, port };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopChild(child);
    log(`bench: rsync daemon did not start on port ${port} (attempt ${attempt})`);
  }
  throw new Error(`could not start the rsync daemon; log: ${fs.existsSync(path.join(ETC, 'rsyncd.log')) ? fs.readFileSync(path.join(ETC, 'rsyncd.log'), 'utf8').slice(-2000) : '(none)'}`);
}

async function startParecoServer() {
  const env = { ...process.env };
  delete env.PARECO_AUTH_TOKEN;
  const s = await startService([NODE, path.join(REPO, 'bin/pareco-server.js'), '-p', '0', '--host', '127.0.0.1'], { cwd: DATA, env, re: /port: (\d+)/ });
  return { child: s.child, port: Number(s.match[1]), log: s.log };
}

async function startProxy(targetPort) {
  const state = { open: 0, totalUp: 0, totalDown: 0 };
  const s = await startService(
    [NODE, path.join(BENCH_DIR, 'wan-proxy.mjs'), '--target', `127.0.0.1:${targetPort}`, '--port', '0', '--delay', String(CFG.delayMs), '--window', String(CFG.window)],
    {
      re: /port: (\d+)/,
      onLine: (line) => {
        if (!line.startsWith('{')) return;
        try {
          const ev = JSON.parse(line);
          state.open = ev.open;
          if (ev.type === 'close') { state.totalUp = ev.totalUp; state.totalDown = ev.totalDown; }
        } catch { /* ignore */ }
      },
    },
  );
  return { child: s.child, port: Number(s.match[1]), state };
}

/** Waits until the proxy saw every connection close, then returns its byte totals. */
async function proxyTotals(proxy) {
  for (let i = 0; i < 150 && proxy.state.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return { up: proxy.state.totalUp, down: proxy.state.totalDown, settled: proxy.state.open === 0 };
}

// ---------------------------------------------------------------------------------------------
// Shared base data (generated once, hard-linked as read-only sources)

const bases = new Map();
function baseFile(name, size, seed) {
  const key = `${name}:${size}`;
  if (!bases.has(key)) {
    const f = path.join(DATA, '_base', `${name}.bin`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    writeBigFile(f, size, seed, T0);
    bases.set(key, f);
  }
  return bases.get(key);
}
const bigBase = () => baseFile('big', CFG.big, 0xa11ce);
const eBase = () => baseFile('wan', CFG.eSize, 0xe0e0);

/** src = base edited (new content at `edits`, mtime one hour later), before = the old file. */
function prepDelta(dir, base, edits, seed) {
  const src = path.join(dir, 'src', 'data.bin');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  sh('cp', ['--reflink=auto', base, src]);
  const offsets = applyEdits(src, { ...edits, seed, mtime: T0 + 3600 });
  link(base, path.join(dir, 'before', 'data.bin'));
  for (const d of ['src', 'before']) fs.utimesSync(path.join(dir, d), T0, T0);
  return { editedBytes: offsets.length * edits.len };
}
function prepSingle(dir, base) {
  link(base, path.join(dir, 'src', 'data.bin'));
  fs.utimesSync(path.join(dir, 'src'), T0, T0);
}
function prepNoChange(dir) {
  cpTree(path.join(dir, 'src'), path.join(dir, 'dst'));
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const MEM200 = 200 * 1024; // KiB ("200 MB" read as MiB)
const MEM300 = 300 * 1024;

function scenarios() {
  const big = fmtSize(CFG.big);
  const list = [
    {
      id: 'A', title: `${big} single file, fresh copy, loopback (upload)`, dir: 'upload', kind: 'fresh', single: true,
      target: { ratio: 0.8, rssKiB: MEM200 },
      prep: (d) => prepSingle(d, bigBase()),
    },
    {
      id: 'B', title: `${big} file after ${CFG.bEdits} scattered 4 KiB edits (upload)`, dir: 'upload', kind: 'delta', single: true,
      target: { ratio: 0.5, bytes: 4 * MiB, rssKiB: MEM200 },
      prep: (d) => prepDelta(d, bigBase(), { count: CFG.bEdits, len: 4 * KiB, align: 1 }, 0xb0b),
    },
    {
      id: 'B2', title: `${big} file after ${CFG.b2Pages} random 8 KiB-aligned page writes (upload)`, dir: 'upload', kind: 'delta', single: true,
      target: { ratio: 0.5, bytes: 1.5 * CFG.b2Pages * 8 * KiB },
      prep: (d) => prepDelta(d, bigBase(), { count: CFG.b2Pages, len: 8 * KiB, align: 8 * KiB }, 0xb2b2),
    },
    {
      id: 'C1', title: `${big} file, no change: Pareco digest mode vs rsync -a -c`, dir: 'upload', kind: 'nochange', single: true,
      target: { ratio: 1.0 }, rsyncArgs: ['-c'],
      prep: (d) => { prepSingle(d, bigBase()); prepNoChange(d); },
    },
    {
      id: 'C2', title: `${big} file, no change: Pareco --skip-digest vs rsync -a`, dir: 'upload', kind: 'nochange', single: true,
      target: { ratio: 1.0 }, parecoArgs: ['--skip-digest'],
      prep: (d) => { prepSingle(d, bigBase()); prepNoChange(d); },
    },
    {
      id: 'D', title: `${CFG.dFiles.toLocaleString('en')} files of 1–64 KiB in 100 directories, fresh copy (upload)`, dir: 'upload', kind: 'fresh',
      target: { ratio: 1.0, rssKiB: MEM200 },
      prep: (d) => writeSmallFiles(path.join(d, 'src'), { count: CFG.dFiles, dirs: 100, minSize: KiB, maxSize: 64 * KiB, seed: 0xd }),
    },
    {
      id: 'E', title: `${fmtSize(CFG.eSize)} file, fresh, WAN, pareco -n 8 (upload)`, dir: 'upload', kind: 'fresh', single: true, wan: true,
      target: { ratio: 0.2, rssKiB: MEM200 }, parecoArgs: ['-n', '8'],
      prep: (d) => prepSingle(d, eBase()),
    },
    {
      id: 'E2', title: `${fmtSize(CFG.eSize)} file after ${CFG.e2Pages} random 8 KiB page writes, WAN (upload)`, dir: 'upload', kind: 'delta', single: true, wan: true,
      target: { ratio: 0.3 },
      prep: (d) => prepDelta(d, eBase(), { count: CFG.e2Pages, len: 8 * KiB, align: 8 * KiB }, 0xe2e2),
    },
    {
      id: 'F', title: `${CFG.fFiles.toLocaleString('en')} small files (1–64 KiB), fresh, WAN (upload)`, dir: 'upload', kind: 'fresh', wan: true,
      target: { ratio: 0.5 },
      prep: (d) => writeSmallFiles(path.join(d, 'src'), { count: CFG.fFiles, dirs: 20, minSize: KiB, maxSize: 64 * KiB, seed: 0xf }),
    },
    {
      // Like-for-like: both tools trust size + mtime (rsync -a's quick check, Pareco --skip-digest).
      id: 'G', title: `${CFG.gFiles.toLocaleString('en')} files of 0–100 B, no change, --skip-digest vs rsync -a (upload)`, dir: 'upload', kind: 'nochange', snapshotVerify: true,
      target: { ratio: 1.0, rssKiB: MEM300 }, parecoArgs: ['--skip-digest'],
      prep: (d) => { writeSmallFiles(path.join(d, 'src'), { count: CFG.gFiles, dirs: Math.max(1, Math.round(CFG.gFiles / 100)), minSize: 0, maxSize: 100, seed: 0x6 }); prepNoChange(d); },
    },
  ];
  for (const id of ['A', 'B', 'D']) {
    const s = list.find((x) => x.id === id);
    list.push({ ...s, id: `H-${id}`, dir: 'download', title: s.title.replace('(upload)', '(download)') });
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Runs

function parecoCmd(sc, dir, url) {
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  const [local, remote] = sc.dir === 'upload' ? [src, dst] : [dst, src];
  return [NODE, path.join(REPO, 'bin/pareco.js'), '-m', sc.dir, '-s', url, '-l', local, '-r', remote, '--json', '--log-level', 'quiet', ...(sc.parecoArgs ?? [])];
}

function rsyncCmd(sc, rel, port) {
  const base = `rsync://127.0.0.1:${port}/bench/${rel}`;
  const args = ['rsync', '-a', ...(sc.rsyncArgs ?? []), '--stats'];
  return sc.dir === 'upload'
    ? [...args, `${path.join(DATA, rel, 'src')}/`, `${base}/dst/`]
    : [...args, `${base}/src/`, `${path.join(DATA, rel, 'dst')}/`];
}

function restore(sc, dir) {
  const dst = path.join(dir, 'dst');
  if (sc.kind === 'fresh') {
    rmrf(dst);
    fs.mkdirSync(dst);
  } else if (sc.kind === 'delta') {
    rmrf(dst);
    cpTree(path.join(dir, 'before'), dst);
  }
  // nochange: the destination must still equal the source, which the check after every run proves.
}

class RunError extends Error {}

async function runPareco(sc, dir, url, proxy) {
  const env = { ...process.env };
  delete env.PARECO_AUTH_TOKEN;
  let summary = null;
  let errors = [];
  const before = proxy ? await proxyTotals(proxy) : null;
  const r = await runMeasured(parecoCmd(sc, dir, url), {
    cwd: REPO, env, timeoutMs: CFG.timeoutS * 1000, rss: TIME_BIN ? 'time' : 'wrap', tmpDir: ETC,
    onStdoutLine: (line) => {
      if (line.includes('"summary"') || line.includes('"error"')) {
        try {
          const ev = JSON.parse(line);
          if (ev.type === 'summary') summary = ev;
          else if (ev.type === 'error' && errors.length < 5) errors.push(ev.message ?? line);
        } catch { /* not JSON */ }
      }
    },
  });
  if (r.timedOut) throw new RunError(`pareco timed out after ${CFG.timeoutS}s`);
  if (r.code !== 0 || !summary || summary.ok !== true) {
    throw new RunError(`pareco failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}${summary ? `, ok=${summary.ok}` : ', no summary'}): ${errors.join('; ')} ${r.stderrTail.trim().slice(-1500)}`);
  }
  const after = proxy ? await proxyTotals(proxy) : null;
  return {
    wallMs: r.wallMs, bytes: summary.bytesTransferred, rssKiB: r.maxRssKiB, durationMs: summary.durationMs,
    filesTransferred: summary.filesTransferred, chunksTransferred: summary.chunksTransferred,
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
  };
}

async function runRsync(sc, rel, port, proxy) {
  const before = proxy ? await proxyTotals(proxy) : null;
  const r = await runMeasured(rsyncCmd(sc, rel, port), { cwd: DATA, timeoutMs: CFG.timeoutS * 1000, rss: 'time', tmpDir: ETC });
  if (r.timedOut) throw new RunError(`rsync timed out after ${CFG.timeoutS}s`);
  if (r.code !== 0) throw new RunError(`rsync failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderrTail.trim().slice(-1500)}`);
  const stat = (re) => {
    const m = re.exec(r.stdoutTail);
    return m ? num(m[1]) : null;
  };
  const sent = stat(/Total bytes sent:\s*([\d,]+)/);
  const received = stat(/Total bytes received:\s*([\d,]+)/);
  const after = proxy ? await proxyTotals(proxy) : null;
  return {
    wallMs: r.wallMs, rssKiB: r.maxRssKiB,
    sent, received, bytes: sc.dir === 'upload' ? sent : received,
    literal: stat(/Literal data:\s*([\d,]+)/), matched: stat(/Matched data:\s*([\d,]+)/),
    wire: after ? { up: after.up - before.up, down: after.down - before.down } : null,
  };
}

/** Self-test: flips one byte in the middle of the biggest destination file, keeping its mtime. */
function corruptOne(dst) {
  let best = null;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        if (!best || st.size > best.st.size) best = { p, st };
      }
    }
  };
  walk(dst);
  if (!best || best.st.size === 0) return;
  const off = Math.floor(best.st.size / 2);
  const fd = fs.openSync(best.p, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, off);
  b[0] ^= 0x01;
  fs.writeSync(fd, b, 0, 1, off);
  fs.closeSync(fd);
  fs.utimesSync(best.p, best.st.atime, best.st.mtime);
  log(`[self-test] flipped the byte at ${off} of ${best.p}`);
}

function verify(sc, dir, who, rep, snapshot) {
  if (opts.corrupt === who && rep === 1) corruptOne(path.join(dir, 'dst'));
  const problem = compareTrees(path.join(dir, 'src'), path.join(dir, 'dst'), { snapshot });
  if (problem) throw new RunError(`WRONG COPY after ${who} run ${rep}: ${problem}`);
}

async function runScenario(sc, rsyncd) {
  const res = {
    id: sc.id, title: sc.title, direction: sc.dir, kind: sc.kind, wan: !!sc.wan,
    parecoArgs: sc.parecoArgs ?? [], rsyncArgs: ['-a', ...(sc.rsyncArgs ?? [])], target: sc.target,
    pareco: { runs: [] }, rsync: { runs: [] }, server: {}, notes: [], ok: false, error: null,
  };
  const rel = sc.id;
  const dir = path.join(DATA, rel);
  const t0 = performance.now();
  let server = null;
  const proxies = [];
  try {
    fs.mkdirSync(dir);
    const tp = performance.now();
    const info = sc.prep(dir);
    if (info?.editedBytes) res.editedBytes = info.editedBytes;
    res.prepMs = performance.now() - tp;
    // Sanity: a delta scenario must start different, a no-change one equal.
    if (sc.kind === 'delta' && !compareTrees(path.join(dir, 'src'), path.join(dir, 'before'))) throw new RunError('prepared source equals the old file');
    let snapshot = null;
    if (sc.kind === 'nochange') {
      const p = compareTrees(path.join(dir, 'src'), path.join(dir, 'dst'));
      if (p) throw new RunError(`prepared destination differs from the source: ${p}`);
      if (sc.snapshotVerify) snapshot = snapshotTree(path.join(dir, 'dst'));
    }
    log(`[${sc.id}] ${sc.title}: data ready in ${fmtS(res.prepMs)}s`);

    server = await startParecoServer();
    let parecoUrl = `http://127.0.0.1:${server.port}`;
    let rsyncPort = rsyncd.port;
    let pProxy = null;
    let rProxy = null;
    if (sc.wan) {
      pProxy = await startProxy(server.port);
      rProxy = await startProxy(rsyncd.port);
      proxies.push(pProxy, rProxy);
      parecoUrl = `http://127.0.0.1:${pProxy.port}`;
      rsyncPort = rProxy.port;
    }

    let reps = CFG.reps;
    let spentMs = 0;
    for (let i = 1; i <= reps; i++) {
      restore(sc, dir);
      syncDisks();
      const p = await runPareco(sc, dir, parecoUrl, pProxy);
      res.pareco.runs.push(p);
      verify(sc, dir, 'pareco', i, snapshot);

      restore(sc, dir);
      syncDisks();
      const r = await runRsync(sc, rel, rsyncPort, rProxy);
      res.rsync.runs.push(r);
      verify(sc, dir, 'rsync', i, snapshot);
      log(`[${sc.id}] run ${i}/${reps}: pareco ${fmtS(p.wallMs)}s ${fmtBytes(p.bytes)} rss ${fmtRss(p.rssKiB)} | rsync ${fmtS(r.wallMs)}s ${fmtBytes(r.bytes)} (literal ${fmtBytes(r.literal)})`);
      // Keep the total bounded: another pair must fit in the scenario's budget of timed runs.
      spentMs += p.wallMs + r.wallMs;
      if (i < reps && (spentMs + p.wallMs + r.wallMs) / 1000 > CFG.scenarioBudgetS) {
        res.notes.push(`${i} repetition(s) instead of ${reps}: another pair (${fmtS(p.wallMs + r.wallMs)} s) would exceed the ${CFG.scenarioBudgetS} s budget of timed runs per scenario`);
        log(`[${sc.id}] ${res.notes.at(-1)}`);
        reps = i;
      }
    }
    res.server.vmHwmKiB = vmHwmKiB(server.child.pid);
    res.ok = true;
  } catch (e) {
    res.error = e instanceof RunError ? e.message : (e.stack ?? String(e));
    if (server) res.server.vmHwmKiB ??= vmHwmKiB(server.child.pid);
    log(red(`\n!!! [${sc.id}] SCENARIO FAILED: ${res.error}\n`));
  } finally {
    for (const p of proxies) await stopChild(p.child);
    if (server) {
      await stopChild(server.child);
      res.server.log = server.log().split('\n').filter((l) => /error|warn/i.test(l)).slice(0, 10);
    }
    const tc = performance.now();
    rmrf(dir);
    res.cleanupMs = performance.now() - tc;
  }
  const P = res.pareco;
  const R = res.rsync;
  P.medianMs = median(P.runs.map((r) => r.wallMs));
  P.bytes = median(P.runs.map((r) => r.bytes));
  P.maxBytes = maxOf(P.runs.map((r) => r.bytes));
  P.clientRssKiB = maxOf(P.runs.map((r) => r.rssKiB));
  R.medianMs = median(R.runs.map((r) => r.wallMs));
  R.bytes = median(R.runs.map((r) => r.bytes));
  R.literal = median(R.runs.map((r) => r.literal));
  R.rssKiB = maxOf(R.runs.map((r) => r.rssKiB));
  res.ratio = P.medianMs !== null && R.medianMs ? P.medianMs / R.medianMs : null;
  res.met = judge(res);
  res.totalMs = performance.now() - t0;
  log(`[${sc.id}] pareco ${fmtS(P.medianMs)}s, rsync ${fmtS(R.medianMs)}s, ratio ${res.ratio?.toFixed(2) ?? '–'} → ${res.met.text} (scenario took ${fmtS(res.totalMs)}s: data ${fmtS(res.prepMs)}s, cleanup ${fmtS(res.cleanupMs)}s)`);
  return res;
}

function judge(res) {
  if (!res.ok) return { ok: false, text: 'FAILED', failed: ['run failed'] };
  const t = res.target;
  const failed = [];
  if (res.ratio === null || res.ratio > t.ratio) failed.push('time');
  if (t.bytes !== undefined && (res.pareco.maxBytes === null || res.pareco.maxBytes > t.bytes)) failed.push('bytes');
  if (t.rssKiB !== undefined) {
    if (res.pareco.clientRssKiB === null || res.pareco.clientRssKiB > t.rssKiB) failed.push('client RSS');
    if (res.server.vmHwmKiB === null || res.server.vmHwmKiB > t.rssKiB) failed.push('server RSS');
  }
  return { ok: failed.length === 0, failed, text: failed.length ? `no (${failed.join(', ')})` : 'yes' };
}

function targetText(t) {
  const parts = [`≤ ${t.ratio.toFixed(1)}`];
  if (t.bytes !== undefined) parts.push(`bytes ≤ ${fmtBytes(t.bytes)}`);
  if (t.rssKiB !== undefined) parts.push(`RSS ≤ ${t.rssKiB / 1024} MiB`);
  return parts.join('; ');
}

function table(results) {
  const rows = [
    '| id | scenario | Pareco s | rsync s | ratio | target | Pareco bytes | rsync bytes | client RSS | server RSS | met? |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    rows.push(`| ${r.id} | ${r.title} | ${fmtS(r.pareco.medianMs)} | ${fmtS(r.rsync.medianMs)} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} | ${targetText(r.target)} | ${fmtBytes(r.pareco.bytes)} | ${fmtBytes(r.rsync.bytes)} | ${fmtRss(r.pareco.clientRssKiB)} | ${fmtRss(r.server.vmHwmKiB)} | ${r.ok ? r.met.text : '**FAILED**'} |`);
  }
  return rows.join('\n');
}

function details(results) {
  const out = [];
  for (const r of results) {
    out.push(`### ${r.id}: ${r.title}`, '');
    out.push(`- Pareco: \`pareco -m ${r.direction}${r.parecoArgs.length ? ` ${r.parecoArgs.join(' ')}` : ''} --json --log-level quiet\`; rsync: \`rsync ${r.rsyncArgs.join(' ')} --stats\`${r.wan ? `; both through the WAN emulator (${CFG.delayMs} ms each way, window ${fmtBytes(CFG.window)})` : ''}`);
    if (r.editedBytes) out.push(`- bytes edited in the source: ${fmtBytes(r.editedBytes)}`);
    if (r.error) out.push(`- **FAILED**: ${r.error.replace(/\n/g, ' ')}`);
    for (const n of r.notes) out.push(`- note: ${n}`);
    const runs = Math.max(r.pareco.runs.length, r.rsync.runs.length);
    if (runs) {
      out.push('', '| run | Pareco s (own durationMs) | Pareco bytes | Pareco wire ↑/↓ | client RSS | rsync s | rsync sent / received | rsync literal | rsync wire ↑/↓ | rsync RSS |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (let i = 0; i < runs; i++) {
        const p = r.pareco.runs[i];
        const q = r.rsync.runs[i];
        const wire = (w) => (w ? `${fmtBytes(w.up)} / ${fmtBytes(w.down)}` : '–');
        out.push(`| ${i + 1} | ${p ? `${fmtS(p.wallMs)} (${fmtS(p.durationMs)})` : '–'} | ${p ? fmtBytes(p.bytes) : '–'} | ${wire(p?.wire)} | ${p ? fmtRss(p.rssKiB) : '–'} | ${q ? fmtS(q.wallMs) : '–'} | ${q ? `${fmtBytes(q.sent)} / ${fmtBytes(q.received)}` : '–'} | ${q ? fmtBytes(q.literal) : '–'} | ${wire(q?.wire)} | ${q ? fmtRss(q.rssKiB) : '–'} |`);
      }
    }
    out.push('', `Server peak RSS (VmHWM): ${fmtRss(r.server.vmHwmKiB)}. Scenario wall time incl. data preparation and checks: ${fmtS(r.totalMs)} s.`, '');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

const tStart = performance.now();
const all = scenarios();
let selected = all;
if (opts.only) {
  const want = new Set(opts.only);
  const known = new Set([...all.map((s) => s.id), 'H']);
  const unknown = [...want].filter((w) => !known.has(w));
  if (unknown.length) {
    console.error(`bench: unknown scenario id(s): ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
    process.exit(2);
  }
  selected = all.filter((s) => want.has(s.id) || (want.has('H') && s.id.startsWith('H-')));
}

const buildState = ensureBuilt();
ensureRsync();
const machine = machineInfo(WORK, buildState);
log(`bench: ${CFG.mode} mode, ${CFG.reps} repetitions, scenarios ${selected.map((s) => s.id).join(' ')}; data in ${WORK}`);
log(`bench: ${machine.nproc} cores (${machine.cpu}), node ${machine.node}, ${machine.rsync}, pareco ${machine.pareco}`);
if (machine.loadAvgAtStart[0] > 0.5) log(`bench: warning: load average is ${machine.loadAvgAtStart[0]} — other processes are using the CPU, timings will be noisy`);

const rsyncd = await startRsyncDaemon();
const results = [];
for (const sc of selected) results.push(await runScenario(sc, rsyncd));
await stopChild(rsyncd.child);

const totalS = (performance.now() - tStart) / 1000;
machine.loadAvgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
const tbl = table(results);
const failed = results.filter((r) => !r.ok);
const config = {
  mode: CFG.mode, reps: CFG.reps, bigFile: CFG.big, bEdits: CFG.bEdits, b2Pages: CFG.b2Pages, dFiles: CFG.dFiles,
  wanFile: CFG.eSize, e2Pages: CFG.e2Pages, fFiles: CFG.fFiles, gFiles: CFG.gFiles,
  wan: { delayMs: CFG.delayMs, windowBytes: CFG.window }, runTimeoutS: CFG.timeoutS, scenarioBudgetS: CFG.scenarioBudgetS,
};

fs.mkdirSync(OUT_DIR, { recursive: true });
fs.writeFileSync(path.join(OUT_DIR, 'results.json'), JSON.stringify({ date: new Date().toISOString(), machine, config, totalSeconds: +totalS.toFixed(1), results }, null, 2) + '\n');
const md = [
  '# Pareco vs rsync benchmark',
  '',
  `${new Date().toISOString()} — \`npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${CFG.mode} mode, ${CFG.reps} runs of each tool per scenario, alternating; total ${totalS.toFixed(0)} s)`,
  '',
  '## Machine',
  '',
  `- nproc: ${machine.nproc}`,
  `- CPU: ${machine.cpu}`,
  `- node: ${machine.node}`,
  `- rsync: ${machine.rsync}`,
  `- kernel: ${machine.kernel}, RAM ${machine.memTotalGiB} GiB`,
  `- pareco: ${machine.pareco}${machine.parecoHasBlockOption ? ' (has --block, left at its default)' : ''}`,
  `- data directory: ${machine.dataDir}; peak RSS via ${machine.rssProbe}`,
  `- load average (1/5/15 min) at start: ${machine.loadAvgAtStart.join(' ')}, at end: ${machine.loadAvgAtEnd.join(' ')}${machine.loadAvgAtStart[0] > 0.5 ? ' — other processes were busy, expect noise' : ''}`,
  '',
  '## Results',
  '',
  'Times are medians of wall-clock times (process start to exit) with a warm page cache; ratio = Pareco / rsync. ' +
    'Pareco bytes = `bytesTransferred` of the JSON summary (chunk payload); rsync bytes = total bytes sent by the data sender ' +
    '(`--stats` "Total bytes sent" for uploads, "Total bytes received" for downloads). RSS: Pareco client peak over all runs, server VmHWM per scenario.',
  '',
  tbl,
  '',
  failed.length ? `**${failed.length} scenario(s) FAILED:** ${failed.map((r) => `${r.id} (${r.error.split('\n')[0]})`).join('; ')}\n` : '',
  '## Details',
  '',
  details(results),
].join('\n');
fs.writeFileSync(path.join(OUT_DIR, 'RESULTS.md'), md);

console.log(`\n${tbl}\n`);
console.log(`machine: ${machine.nproc} × ${machine.cpu}, node ${machine.node}, ${machine.rsync}; pareco ${machine.pareco}`);
console.log(`total ${totalS.toFixed(1)} s; wrote ${path.relative(process.cwd(), path.join(OUT_DIR, 'RESULTS.md'))} and ${path.relative(process.cwd(), path.join(OUT_DIR, 'results.json'))}`);
if (failed.length) {
  log(red(`\n!!! ${failed.length} scenario(s) FAILED: ${failed.map((r) => r.id).join(', ')} — see above and bench/out/RESULTS.md`));
  process.exitCode = 1;
}
cleanupSync();
