import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { forEachLimited } from '../../../src/client/bounded-parallel.js';
import { prng } from '../../support/seeded-random.js';


async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

describe('forEachLimited', () => {
  for (const limit of [1, 2, 3, 8, 50]) {
    test(`never more than ${limit} running at once, and reaches the limit`, async () => {
      const random = prng(limit);
      const items = Array.from({ length: 40 }, (_, i) => i);
      let running = 0;
      let maxRunning = 0;
      const done: number[] = [];
      await forEachLimited(items, limit, async (item) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await ticks(Math.floor(random() * 4));
        running--;
        done.push(item);
      });
      assert.ok(maxRunning <= limit, `max ${maxRunning}`);
      assert.equal(maxRunning, Math.min(limit, items.length));
      assert.deepEqual([...done].sort((a, b) => a - b), items, 'every item exactly once');
    });
  }

  test('items are started in iteration order', async () => {
    const started: number[] = [];
    await forEachLimited([0, 1, 2, 3, 4, 5, 6], 3, async (item) => {
      started.push(item);
      await ticks(7 - item);
    });
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  });

  test('a lazy iterable is pulled only when a slot is free', async () => {
    let pulled = 0;
    let completed = 0;
    function* items() {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield i;
      }
    }
    await forEachLimited(items(), 2, async () => {
      // Pulled but not completed = running now: never more than the limit.
      assert.ok(pulled - completed <= 2, `pulled ${pulled} with ${completed} completed`);
      await ticks(2);
      completed++;
    });
    assert.equal(pulled, 10);
  });

  test('a limit below 1 still runs everything, one at a time', async () => {
    for (const limit of [0, -3]) {
      let running = 0;
      let maxRunning = 0;
      let count = 0;
      await forEachLimited([1, 2, 3, 4], limit, async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick();
        running--;
        count++;
      });
      assert.equal(count, 4);
      assert.equal(maxRunning, 1);
    }
  });

  test('empty input resolves without calling work', async () => {
    let calls = 0;
    await forEachLimited([], 4, async () => {
      calls++;
    });
    assert.equal(calls, 0);
  });

  test('after a failure every item is still attempted, and the failure is rethrown once all settled', async () => {
    const attempted = new Set<number>();
    let finished = 0;
    const boom = new Error('item 3 failed');
    const promise = forEachLimited(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (item) => {
        attempted.add(item);
        await ticks(1 + (item % 3));
        finished++;
        if (item === 3) throw boom;
      },
    );
    await assert.rejects(promise, (error: unknown) => error === boom);
    assert.equal(attempted.size, 20);
    assert.equal(finished, 20, 'nothing left running when the failure is thrown');
  });

  test('with several failures, the first one (in time) is thrown', async () => {
    const first = new Error('first');
    const later = new Error('later');
    const promise = forEachLimited([0, 1, 2, 3], 4, async (item) => {
      if (item === 0) {
        await ticks(5);
        throw later;
      }
      if (item === 2) {
        await tick();
        throw first;
      }
      if (item === 3) {
        await ticks(3);
        throw new Error('also later');
      }
    });
    await assert.rejects(promise, (error: unknown) => error === first);
  });

  test('a synchronous throw from work counts as a failure, and the rest still run', async () => {
    const seen: number[] = [];
    const failure = new Error('sync');
    const promise = forEachLimited([1, 2, 3, 4, 5], 2, (item) => {
      seen.push(item);
      if (item === 2) throw failure;
      return Promise.resolve();
    });
    await assert.rejects(promise, (error: unknown) => error === failure);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  test('non-Error rejections are rethrown as they are', async () => {
    await assert.rejects(
      forEachLimited([1], 1, async () => {
        throw 'plain string';
      }),
      (error: unknown) => error === 'plain string',
    );
  });
});
