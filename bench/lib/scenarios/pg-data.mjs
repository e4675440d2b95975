// The database both PostgreSQL scenarios start from: a cluster made once per bench run by
// initdb + `pgbench -i -s SCALE`, then stopped: the snapshot S0 (Z copies it as it is, M
// restores its live source from it before every run). It is loaded with wal_level = minimal so
// that pg_wal does not hold a second copy of the freshly loaded tables (the data directory is
// then ≈ 345 MiB at scale 20, ≈ 330 MiB of it tables and indexes).

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { log } from '../log.mjs';
import { Cluster, giveToPostgres, pgTool, stopAllClusters } from '../services/postgres.mjs';
import { fmtS } from '../format.mjs';

/** Sum of the regular files' sizes under `dir`. */
function treeBytes(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

export function pgData(work, { scale }) {
  let area = null;
  let s0 = null;
  let nextPort = 5440;

  /** The directory clusters live in, owned by the PostgreSQL user (reachable through the run's 0711 root). */
  const pgArea = () => {
    if (area) return area;
    fs.chmodSync(work.root, 0o711);
    const root = path.join(work.root, 'pg');
    fs.mkdirSync(path.join(root, 'sock'), { recursive: true });
    giveToPostgres(root);
    work.onCleanup(stopAllClusters);
    area = { root, socketDir: path.join(root, 'sock') };
    return area;
  };

  return {
    area: pgArea,
    /** A new cluster handle on its own socket name (port number). */
    cluster: (dataDir) => new Cluster({ dataDir, socketDir: pgArea().socketDir, port: nextPort++ }),
    /** { dir, bytes, scale }: the stopped pgbench cluster, made on first use. */
    snapshot() {
      if (s0) return s0;
      const t = performance.now();
      const dir = path.join(pgArea().root, 's0');
      const c = this.cluster(dir);
      c.initdb();
      c.start(['wal_level=minimal', 'max_wal_senders=0']);
      try {
        c.psql('postgres', 'CREATE DATABASE pgbench');
        pgTool('pgbench', [...c.connArgs, '-U', 'postgres', '-i', '-s', String(scale), '-q', 'pgbench']);
      } finally {
        c.stop('fast');
      }
      s0 = { dir, bytes: treeBytes(dir), scale };
      log(`bench: PostgreSQL snapshot S0 (pgbench -i -s ${scale}) made in ${fmtS(performance.now() - t)}s`);
      return s0;
    },
  };
}
