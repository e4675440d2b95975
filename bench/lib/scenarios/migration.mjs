// M: a database migration as it is done for real. For each tool, alternately: restore the source
// cluster from the snapshot S0, start it, start pgbench writing at a fixed rate (seeded per
// repetition, so both tools see the same kind of writes), copy the live cluster into an empty
// destination (pass 1) while it writes, stop the cluster when pgbench ends, then copy again
// (pass 2, the timed one: the downtime of a real migration). Then the copy must equal the
// source, start as a cluster of its own and pass pg_amcheck, with every pgbench_accounts row.
// Pareco's two passes share their client and server cache directories (the digest cache is
// what pass 2 is for); every repetition starts with empty ones.

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { checkCopy } from '../check-copy.mjs';
import { fmtS } from '../format.mjs';
import { log } from '../log.mjs';
import { RunError } from '../runs/run-error.mjs';
import { giveToPostgres, pgTool } from '../services/postgres.mjs';
import { cpTree, rmrf, syncDisks } from '../trees.mjs';

/** The copy starts as a cluster of its own and is checked; returns what it found. */
function checkCluster(pg, dir, scale, who) {
  giveToPostgres(dir);
  fs.chmodSync(dir, 0o700);
  const c = pg.cluster(dir);
  try {
    c.start();
  } catch (e) {
    throw new RunError(`the copy made by ${who} does not start as a PostgreSQL cluster: ${e.message}`);
  }
  try {
    const amcheck = pgTool('pg_amcheck', [...c.connArgs, '-U', 'postgres', '--install-missing', '-d', 'pgbench'], { allowFail: true });
    if (amcheck.status !== 0) throw new RunError(`pg_amcheck on the copy made by ${who} failed (exit ${amcheck.status}): ${(amcheck.stdout + amcheck.stderr).trim().slice(-1500)}`);
    const rows = Number(c.psql('pgbench', 'SELECT count(*) FROM pgbench_accounts'));
    if (rows !== scale * 100000) throw new RunError(`the copy made by ${who} has ${rows} pgbench_accounts rows, not ${scale * 100000}`);
    return `starts; pg_amcheck clean; ${rows.toLocaleString('en')} pgbench_accounts rows`;
  } finally {
    c.stop('fast', { allowFail: true });
  }
}

async function migrate(ctx, pg, { side, rep, entry }) {
  const { cfg } = ctx;
  const { src, dst } = entry.paths;
  const t0 = performance.now();
  rmrf(src);
  cpTree(pg.snapshot().dir, src);
  rmrf(dst);
  fs.mkdirSync(dst);
  const live = pg.cluster(src);
  live.start();
  syncDisks();
  const who = side.tool === 'rsync' ? 'rsync' : side.label;
  let pass1;
  try {
    const writes = live.pgbench('pgbench', ['-n', '-R', String(cfg.pgRate), '-T', String(cfg.pgSeconds), '-c', '4', '-j', '2', `--random-seed=${rep}`]);
    // A live source changes under the copy: files vanish (rsync exit 24) or change mid-read.
    pass1 = await side.transfer({ direction: 'upload', paths: entry.paths, tolerant: true, tolerateCodes: [23, 24] });
    const w = await writes;
    if (w.code !== 0) throw new RunError(`pgbench failed (exit ${w.code}): ${w.out.trim().slice(-800)}`);
    pass1.tps = Number(/tps = ([\d.]+)/.exec(w.out)?.[1] ?? NaN);
  } finally {
    live.stop('fast');
  }
  syncDisks();
  const pass2 = await side.transfer({ direction: 'upload', paths: entry.paths });
  checkCopy(ctx.opts, entry.paths, side.tool, rep, null);
  const dbCheck = checkCluster(pg, dst, pg.snapshot().scale, who);
  log(`[M] ${who} run ${rep}: pass 1 ${fmtS(pass1.wallMs)}s (during pgbench, ${pass1.tps.toFixed(0)} tps)${pass1.problem ? ` — ${pass1.problem.slice(0, 200)}` : ''}; pass 2 ${fmtS(pass2.wallMs)}s; copy ${dbCheck}`);
  return {
    ...pass2,
    pass1: { wallMs: pass1.wallMs, bytes: pass1.bytes, problem: pass1.problem, pgbenchTps: pass1.tps },
    dbCheck,
    budgetMs: performance.now() - t0,
  };
}

export function migrationScenario(cfg, pg) {
  return {
    id: 'M', flag: 'db', needs: 'postgres',
    title: `live PostgreSQL migration (pgbench -i -s ${cfg.pgScale}; pgbench -R ${cfg.pgRate} -T ${cfg.pgSeconds} -c 4 during pass 1): pass 2 after the stop, Pareco -m upload --delete vs rsync -a --delete --no-whole-file`,
    dir: 'upload', kind: 'custom', cache: 'run',
    parecoArgs: ['--delete'], rsyncArgs: ['--delete', '--no-whole-file'],
    target: { ratio: 0.7 }, budgetS: cfg.mBudgetS,
    paths: (dir) => ({ src: path.join(pg.area().root, 'm-live'), dst: path.join(dir, 'dst') }),
    prep: (dir, paths) => {
      fs.mkdirSync(paths.dst);
      return { fileBytes: pg.snapshot().bytes };
    },
    runOnce: (ctx, run) => migrate(ctx, pg, run),
  };
}
