import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveSessions } from '../../../src/server/live-sessions.js';

test('live sessions: lanes, running sessions and route keys follow opens, joins, departures and ends', () => {
  const live = new LiveSessions();
  live.opened('a', 'upload');
  live.opened('b', 'download');
  assert.equal(live.laneJoined('a', 'route-a'), true);
  assert.equal(live.laneJoined('a', 'route-a'), true);
  assert.equal(live.laneJoined('gone', 'route-x'), false, 'a session that ended (or never was) takes no lane');
  assert.equal(live.lanes, 2);
  assert.equal(live.running, 1, 'b has no lane: its client is not at work');
  assert.deepEqual(live.byMode(), { upload: 1, download: 1 });
  assert.equal(live.hasRoute('route-a'), true);
  assert.equal(live.hasRoute('route-x'), false);
  live.laneLeft('a');
  assert.equal(live.lanes, 1);
  live.ended('a');
  assert.equal(live.lanes, 0);
  assert.equal(live.running, 0);
  assert.equal(live.hasRoute('route-a'), false);
  live.laneLeft('a'); // its lanes close after the end: ignored
  assert.equal(live.lanes, 0);
  assert.deepEqual(live.byMode(), { upload: 0, download: 1 });
});
