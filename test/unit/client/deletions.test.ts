import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeletionQueue, type Deletion } from '../../../src/client/deletions.js';

test('held deletions come back newest first, from memory and from the spill file alike', () => {
  const queue = new DeletionQueue();
  const added: Deletion[] = [];
  for (let i = 0; i < 40_000; i++) {
    const deletion: Deletion = { path: `d${Math.floor(i / 100)}/f${i}\udce9`, kind: i % 100 === 0 ? 'dir' : i % 7 === 0 ? 'partial' : 'file' };
    added.push(deletion);
    queue.add(deletion);
  }
  const back = [...queue.newestFirst()].flat();
  assert.deepEqual(back, added.reverse());
  assert.equal(queue.count, 40_000);
  assert.equal(queue.entries, 40_000 - added.filter((d) => d.kind === 'partial').length);
  queue.dispose();
});
