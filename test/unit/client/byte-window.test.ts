import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { ByteWindow } from '../../../src/client/byte-window.js';
import { prng } from '../../support/seeded-random.js';


/** Starts an acquire and records when it is granted. */
function track(window: ByteWindow, bytes: number, order: number[], label: number): { granted: () => boolean; done: Promise<void> } {
  let granted = false;
  const done = window.acquire(bytes).then(() => {
    granted = true;
    order.push(label);
  });
  return { granted: () => granted, done };
}

describe('ByteWindow', () => {
  test('requests within the capacity are granted at once', async () => {
    const window = new ByteWindow(100);
    assert.equal(window.capacity, 100);
    await window.acquire(40);
    await window.acquire(60);
    const order: number[] = [];
    const third = track(window, 1, order, 3);
    await tick();
    assert.equal(third.granted(), false, 'the window is full');
    window.release(40);
    await third.done;
    assert.deepEqual(order, [3]);
  });

  test('an oversized request passes alone when the window is empty', async () => {
    const window = new ByteWindow(10);
    await window.acquire(1000); // would deadlock if it had to fit
    const order: number[] = [];
    const small = track(window, 1, order, 1);
    await tick();
    assert.equal(small.granted(), false, 'nothing passes beside an oversized request');
    window.release(1000);
    await small.done;
  });

  test('an oversized request waits until the window is empty, then goes alone', async () => {
    const window = new ByteWindow(10);
    await window.acquire(4);
    await window.acquire(4);
    const order: number[] = [];
    const big = track(window, 50, order, 1);
    const after = track(window, 1, order, 2);
    await tick();
    assert.equal(big.granted(), false);
    window.release(4);
    await tick();
    assert.equal(big.granted(), false, 'still 4 bytes in flight');
    window.release(4);
    await big.done;
    await tick();
    assert.equal(after.granted(), false, 'the oversized request is alone');
    window.release(50);
    await after.done;
    assert.deepEqual(order, [1, 2]);
  });

  test('waiters are served in FIFO order; a small request does not overtake a waiting large one', async () => {
    const window = new ByteWindow(10);
    await window.acquire(8);
    const order: number[] = [];
    const a = track(window, 5, order, 1); // does not fit beside 8
    const b = track(window, 1, order, 2); // would fit, but must not overtake
    await tick();
    assert.equal(a.granted(), false);
    assert.equal(b.granted(), false, 'no overtaking');
    window.release(8);
    await Promise.all([a.done, b.done]);
    assert.deepEqual(order, [1, 2]);
  });

  test('a release grants as many waiters from the head as fit, and stops at the first that does not', async () => {
    const window = new ByteWindow(10);
    await window.acquire(10);
    const order: number[] = [];
    const a = track(window, 6, order, 1);
    const b = track(window, 2, order, 2);
    const c = track(window, 3, order, 3); // 6 + 2 + 3 = 11 > 10
    const d = track(window, 1, order, 4); // would fit after a and b, but is behind c
    window.release(10);
    await Promise.all([a.done, b.done]);
    await tick();
    assert.equal(c.granted(), false);
    assert.equal(d.granted(), false);
    window.release(2);
    await Promise.all([c.done, d.done]);
    assert.deepEqual(order, [1, 2, 3, 4]);
  });

  test('randomized workload: never more than the capacity in flight (or one oversized request alone), FIFO grants', async () => {
    const random = prng(99);
    const capacity = 1000;
    const window = new ByteWindow(capacity);
    let inFlight = 0;
    let holders = 0;
    let maxInFlight = 0;
    const grantOrder: number[] = [];
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const bytes = random() < 0.05 ? capacity + Math.floor(random() * 500) : 1 + Math.floor(random() * 400);
      const hold = Math.floor(random() * 3);
      tasks.push(
        (async () => {
          await window.acquire(bytes);
          grantOrder.push(i);
          inFlight += bytes;
          holders++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          if (bytes > capacity) assert.equal(holders, 1, 'an oversized request is alone');
          else assert.ok(inFlight <= capacity || holders === 1, `${inFlight} bytes in flight`);
          for (let k = 0; k < hold; k++) await tick();
          inFlight -= bytes;
          holders--;
          window.release(bytes);
        })(),
      );
      if (random() < 0.3) await tick();
    }
    await Promise.all(tasks);
    assert.equal(inFlight, 0);
    assert.deepEqual(grantOrder, [...grantOrder].sort((x, y) => x - y), 'grants follow request order');
    assert.ok(maxInFlight > capacity / 2, 'the window was actually used concurrently');
    // Everything was released: a full-capacity request passes at once.
    await window.acquire(capacity);
  });
});
