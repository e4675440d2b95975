import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, ParecoError, type OpenRequest } from '../../../protocol/index.js';
import { LanePool, type PoolEvent, type PoolOptions } from '../../../src/client/lane-pool.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { tempDir } from '../../support/temp-dir.js';

const OPEN: Omit<OpenRequest, 't' | 'id' | 'v' | 'dir'> = { mode: 'upload', chunk: 64 * 1024, block: 8192, hash: 'xxh64', include: [], exclude: [], inplace: false, fsync: false, dry: false };

let server: RunningServer;
let proxy: FaultProxy;
let root: string;
before(async () => {
  root = await tempDir('pareco-lane-pool-');
  server = await startServer({ token: 't' });
  proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } });
});
after(async () => {
  await proxy.close();
  await server.close();
});

function options(extra: Partial<PoolOptions> = {}): PoolOptions {
  return {
    token: 't',
    connectTimeout: 2000,
    heartbeat: { interval: 5000, timeout: 20_000 },
    limits: { maxData: 64 * 1024 },
    retries: 1000,
    retryWait: 2,
    ...extra,
  };
}

const laneUrl = () => `ws://127.0.0.1:${proxy.port}/v1/ws`;

describe('LanePool', () => {
  test('hundreds of reconnects leave no listeners or registrations behind, and every request is answered', async () => {
    const interrupt = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const dir = join(root, 'reconnects');
    await mkdir(dir);
    const events: PoolEvent[] = [];
    const lanes = 12;
    const pool = await LanePool.open(laneUrl(), lanes, { ...OPEN, dir }, options({ signal: interrupt.signal, onEvent: (e) => events.push(e) }));
    const acceptedBefore = proxy.acceptedCount;
    const stop = proxy.cutEvery(3);
    let answered = 0;
    let maxPending = 0;
    let maxListeners = 0;
    // Requests keep flowing while lanes are cut; each is retried until some lane answers it.
    const workers = Array.from({ length: 8 }, async () => {
      while (proxy.acceptedCount - acceptedBefore < 300) {
        await pool.request({ t: 'stat', path: 'nothing-here' }, 'stat');
        answered++;
        maxPending = Math.max(maxPending, pool.pendingCancellations);
        maxListeners = Math.max(maxListeners, getEventListeners(interrupt.signal, 'abort').length);
      }
    });
    await Promise.all(workers);
    stop();
    assert.ok(proxy.acceptedCount - acceptedBefore >= 300);
    assert.ok(answered > 0);
    // One listener on the user's signal, whatever the number of lanes reconnecting; at most one
    // registered wait or connection attempt per lane.
    assert.equal(maxListeners, 1);
    assert.ok(maxPending <= lanes, `${maxPending} registrations`);
    await pool.close();
    assert.equal(getEventListeners(interrupt.signal, 'abort').length, 0);
    assert.equal(pool.pendingCancellations, 0);
    process.off('warning', onWarning);
    assert.deepEqual(warnings.map((w) => w.name), []);
    assert.ok(events.some((e) => e.type === 'lost'));
  });

  test('an interrupt ends requests waiting for a lane when every lane is down', async () => {
    const interrupt = new AbortController();
    const dir = join(root, 'down');
    await mkdir(dir);
    const pool = await LanePool.open(laneUrl(), 3, { ...OPEN, dir }, options({ signal: interrupt.signal, retryWait: 60_000 }));
    proxy.refuse(true);
    proxy.cutAll();
    try {
      const waiting = pool.request({ t: 'stat', path: 'x' }, 'stat');
      setTimeout(() => interrupt.abort(), 100);
      await assert.rejects(waiting, (error: unknown) => error instanceof ParecoError && error.code === ErrorCode.ABORTED);
    } finally {
      proxy.refuse(false);
      await pool.close(100);
    }
  });

  test('a refused first connection fails at once with UNREACHABLE; no retry is reported', async () => {
    const events: PoolEvent[] = [];
    const dead = await FaultProxy.start({ target: { host: '127.0.0.1', port: 1 } });
    const port = dead.port;
    await dead.close(); // nothing listens there now
    await assert.rejects(
      LanePool.open(`ws://127.0.0.1:${port}/v1/ws`, 2, { ...OPEN, dir: root }, options({ onEvent: (e) => events.push(e) })),
      (error: unknown) => error instanceof ParecoError && error.code === ErrorCode.UNREACHABLE,
    );
    assert.deepEqual(events, []);
  });
});
