import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { ProgressDisplay, ProgressModel, renderProgress, type ProgressSnapshot } from '../../../src/cli/progress.js';
import type { SyncEvent } from '../../../src/client/sync-report.js';
import { TerminalScreen } from '../../support/terminal-screen.js';

const M = 1024 ** 2;

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const plan = (files: number, bytes: number): SyncEvent => ({ type: 'plan', files, bytes, complete: true });
const chunk = (path: string, length: number): SyncEvent => ({ type: 'chunk', path, offset: 0, length });
const file = (path: string, size: number, bytesSent: number, action: 'new' | 'update' | 'uptodate' = 'new'): SyncEvent => ({
  type: 'file',
  path,
  action,
  size,
  bytesSent,
  mtime: 0,
  mode: 0o644,
});

describe('ProgressModel', () => {
  test('bytes done are bytes sent plus bytes of finished files already in place', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(3, 100 * M));
    model.update(chunk('a', 10 * M));
    assert.equal(model.snapshot().bytesDone, 10 * M);
    model.update(file('a', 40 * M, 10 * M, 'update')); // 30 MiB were already there
    model.update(file('b', 20 * M, 0, 'uptodate'));
    const s = model.snapshot();
    assert.equal(s.bytesDone, 60 * M);
    assert.equal(s.fraction, 0.6);
    assert.equal(s.filesDone, 2);
    assert.equal(s.filesTotal, 3);
    assert.equal(s.current, 'b');
  });

  test('a big file being compared moves progress as its batches match, and is not counted twice at its end', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(1, 1000 * M));
    model.update({ type: 'matched', path: 'db', bytes: 256 * M });
    assert.equal(model.snapshot().bytesDone, 256 * M);
    assert.equal(model.snapshot().current, 'db');
    model.update({ type: 'matched', path: 'db', bytes: 700 * M });
    model.update(chunk('db', 8 * 1024));
    model.update(file('db', 1000 * M, 8 * 1024, 'update'));
    assert.equal(model.snapshot().bytesDone, 1000 * M);
    assert.equal(model.snapshot().fraction, 1);
  });

  test('100% only when every file is done, even with all bytes in', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(2, 10));
    model.update(chunk('a', 10));
    model.update(file('a', 10, 10));
    assert.ok(model.snapshot().fraction < 1);
    assert.equal(model.complete, false);
    model.update(file('empty', 0, 0));
    assert.equal(model.snapshot().fraction, 1);
    assert.equal(model.complete, true);
  });

  test('failed files count as done; a warning after a file event is not counted twice', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(4, 400));
    model.update({ type: 'error', path: 'a', code: 'PERMISSION', message: 'a: permission denied' });
    model.update({ type: 'error', code: 'IO', message: 'no path: not a file' });
    model.update(file('b', 100, 100));
    model.update({ type: 'warning', path: 'b', code: 'SOURCE_CHANGED', message: 'b: changed' }); // changed while copied
    model.update({ type: 'warning', path: 'c', code: 'SOURCE_CHANGED', message: 'c: vanished' }); // vanished before read
    model.update({ type: 'warning', path: 'd', code: 'SPECIAL_FILE', message: 'd: a fifo' });
    assert.equal(model.snapshot().filesDone, 3);
  });

  test('the fraction never goes backwards, including across a session restart', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(2, 100));
    model.update(chunk('a', 50));
    model.update(file('a', 50, 50));
    assert.equal(model.snapshot().fraction, 0.5);
    // The session is lost; the new one lists the same work and starts counting from zero.
    model.update({ type: 'connecting', server: 'ws://h/v1/ws' });
    model.update(plan(2, 100));
    let s = model.snapshot();
    assert.equal(s.fraction, 0.5);
    assert.equal(s.bytesDone, 50, 'bytes shown agree with the percent');
    assert.equal(s.filesDone, 0);
    model.update(chunk('b', 20)); // raw 20%: still 50% shown
    assert.equal(model.snapshot().fraction, 0.5);
    model.update(file('a', 50, 0, 'uptodate')); // a is found in place: raw 70%
    s = model.snapshot();
    assert.equal(s.fraction, 0.7);
    assert.equal(s.bytesDone, 70);
  });

  test('speed is averaged over the last few seconds; the ETA follows the fraction', () => {
    const clock = fakeClock();
    const model = new ProgressModel(clock.now);
    model.update(plan(1, 100 * M));
    assert.equal(model.snapshot().speed, undefined, 'no history yet');
    assert.equal(model.snapshot().eta, undefined);
    // 1 MiB every 100 ms = 10 MiB/s for 3 s.
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      model.update(chunk('a', M));
      model.sample();
    }
    let s = model.snapshot();
    assert.equal(Math.round(s.speed!), 10 * M);
    assert.equal(Math.round(s.eta!), 7); // 70 MiB left at 10 MiB/s
    // Faster for 10 s: after the window slides past the slow part, only the new rate counts.
    for (let i = 0; i < 100; i++) {
      clock.advance(100);
      model.update(chunk('a', M / 2 + M / 4)); // 7.5 MiB/s... slower, in fact
      model.sample();
    }
    s = model.snapshot();
    assert.ok(Math.abs(s.speed! - 7.5 * M) < 1, `${s.speed}`);
    // A stall: the speed decays to nothing and the ETA is unknown.
    for (let i = 0; i < 60; i++) {
      clock.advance(100);
      model.sample();
    }
    s = model.snapshot();
    assert.equal(s.speed, 0);
    assert.equal(s.eta, undefined);
  });

  test('a finished sync has an ETA of zero', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(1, 10));
    model.update(chunk('a', 10));
    model.update(file('a', 10, 10));
    assert.equal(model.snapshot().eta, 0);
  });

  test('nothing to do is complete at once', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update(plan(0, 0));
    assert.equal(model.complete, true);
    assert.equal(model.snapshot().fraction, 1);
  });
});

describe('ProgressModel while the source is listed', () => {
  test('no share and no ETA until the listing is complete; the totals read as "at least"', () => {
    const model = new ProgressModel(fakeClock().now);
    model.update({ type: 'plan', files: 10, bytes: 1000, complete: false });
    model.update({ type: 'uptodate', files: 5, bytes: 500 });
    let s = model.snapshot();
    assert.equal(s.listed, false);
    assert.equal(s.fraction, 0);
    assert.equal(s.filesDone, 5);
    assert.equal(model.complete, false);
    assert.match(renderProgress(s, 100)[0]!, /^ --%  500 B \/ ≥ 1000 B  5\/≥ 10 files .* ETA --:--$/);
    model.update({ type: 'plan', files: 20, bytes: 2000, complete: true });
    s = model.snapshot();
    assert.equal(s.listed, true);
    assert.equal(s.fraction, 0.25);
    model.update({ type: 'uptodate', files: 15, bytes: 1500 });
    assert.equal(model.complete, true);
    assert.equal(model.snapshot().fraction, 1);
  });
});

describe('renderProgress', () => {
  const snapshot = (over: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
    fraction: 0.42,
    listed: true,
    bytesDone: 420.5 * M,
    bytesTotal: 1024 * M,
    filesDone: 12,
    filesTotal: 300,
    speed: 85.3 * M,
    eta: 6.2,
    current: 'photos/2023/IMG_0042.jpg',
    status: undefined,
    ...over,
  });

  test('the two lines', () => {
    assert.deepEqual(renderProgress(snapshot(), 100), [
      ' 42%  420.5 MiB / 1.00 GiB  12/300 files  85.3 MiB/s  ETA 0:07',
      'photos/2023/IMG_0042.jpg',
    ]);
    assert.deepEqual(renderProgress(snapshot({ fraction: 0, bytesDone: 0, filesDone: 0, speed: undefined, eta: undefined, current: '' }), 100), [
      '  0%  0 B / 1.00 GiB  0/300 files  --  ETA --:--',
      '',
    ]);
    assert.match(renderProgress(snapshot({ eta: 3 * 3600 + 65 }), 100)[0], /ETA 3:01:05$/);
    assert.match(renderProgress(snapshot({ fraction: 1 }), 100)[0], /^100% /);
  });

  test('connection trouble replaces the file line; before the first listing it is the only line', () => {
    assert.deepEqual(renderProgress(snapshot({ status: 'reconnecting (retry 2 of 10 in 4s)' }), 100), [
      ' 42%  420.5 MiB / 1.00 GiB  12/300 files  85.3 MiB/s  ETA 0:07',
      'reconnecting (retry 2 of 10 in 4s)',
    ]);
    assert.deepEqual(renderProgress(snapshot({ status: 'connecting to ws://h:1/v1/ws' }), 100, false), ['connecting to ws://h:1/v1/ws']);
    assert.deepEqual(renderProgress(snapshot(), 100, false), []);
  });

  test('never as wide as the terminal: lines stop one column short', () => {
    for (const columns of [1, 2, 10, 30, 61, 62, 63, 80]) {
      const lines = renderProgress(snapshot({ current: 'a/'.repeat(50) + 'file.bin' }), columns);
      for (const line of lines) assert.ok([...line].length <= Math.max(1, columns - 1), `${columns}: ${line}`);
    }
  });

  test('a long path is cut from the left, so the file name shows', () => {
    const [, line] = renderProgress(snapshot({ current: 'very/long/directory/name/and/then/the-file.bin' }), 21);
    assert.equal(line, '…d/then/the-file.bin');
    assert.equal([...line].length, 20);
  });

  test('wide characters count two columns', () => {
    const [, line] = renderProgress(snapshot({ current: '写真/日本語のファイル.jpg' }), 12);
    // 11 columns: the ellipsis (1), three wide characters (6) and '.jpg' (4).
    assert.equal(line, '…ァイル.jpg');
  });

  test('control and bidi characters in a path cannot move the cursor: escaped as in the log lines', () => {
    const [, line] = renderProgress(snapshot({ current: 'evil\x1b[2J\r\nname\u202e' }), 80);
    assert.equal(line, 'evil\\#033[2J\\#015\\#012name\\#342\\#200\\#256');
  });
});

/** A terminal-like stream that records every write. */
class FakeTty extends Writable {
  readonly isTTY = true;
  columns = 80;
  readonly writes: string[] = [];
  readonly screen = new TerminalScreen({ columns: 80, lfReturns: true });

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes.push(chunk.toString());
    this.screen.write(chunk.toString());
    done();
  }
}

describe('ProgressDisplay', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  test('draws at the plan, then at most once per interval, and once more when done', () => {
    const clock = fakeClock();
    const tty = new FakeTty();
    const display = new ProgressDisplay({ stream: tty, now: clock.now, interval: 100 });
    display.event({ type: 'connected', session: 's', server: '0.1.0', lanes: 4 });
    assert.equal(tty.writes.length, 0, 'nothing before the totals are known');
    display.event(plan(2, 100));
    assert.equal(tty.writes.length, 1);
    assert.deepEqual(tty.screen.lines, ['  0%  0 B / 100 B  0/2 files  --  ETA --:--']);
    for (let i = 0; i < 10; i++) display.event(chunk('a', 5));
    assert.equal(tty.writes.length, 1, 'chunks between two ticks draw nothing');
    clock.advance(100);
    mock.timers.tick(100);
    assert.equal(tty.writes.length, 2);
    assert.match(tty.screen.lines[0]!, /^ 50%  50 B \/ 100 B  0\/2 files/);
    assert.equal(tty.screen.lines[1], 'a');
    display.event(file('a', 50, 50));
    display.event(chunk('b', 50));
    display.event(file('b', 50, 50));
    assert.equal(tty.writes.length, 3, 'the final state is drawn at once');
    assert.match(tty.screen.lines[0]!, /^100%  100 B \/ 100 B  2\/2 files/);
    assert.equal(tty.screen.lines.length, 2, 'redrawn in place');
    assert.ok(tty.writes.slice(1).every((w) => w.startsWith('\r\x1b[2K\x1b[1A\x1b[2K')));
    display.stop();
    assert.deepEqual(tty.screen.lines, [], 'erased');
    assert.deepEqual(tty.screen.cursor, { row: 0, col: 0 });
    mock.timers.tick(1000);
    display.event(chunk('c', 1));
    assert.equal(tty.writes.length, 4, 'nothing after stop (the timer is gone)');
  });

  test('an unchanged frame is not written again', () => {
    const clock = fakeClock();
    const tty = new FakeTty();
    const display = new ProgressDisplay({ stream: tty, now: clock.now, interval: 100 });
    display.event(plan(1, 100));
    mock.timers.tick(100); // no time passed on the clock: same numbers
    mock.timers.tick(100);
    assert.equal(tty.writes.length, 1);
    display.stop();
  });

  test('around() lifts the progress lines for a log line and puts them back under it', () => {
    const tty = new FakeTty();
    const display = new ProgressDisplay({ stream: tty, now: fakeClock().now, interval: 100 });
    display.around(() => tty.write('before any progress\n'));
    display.event(plan(2, 100));
    display.event(chunk('a', 50));
    display.event(file('a', 50, 50));
    display.around(() => tty.write('new       a (50 B)\n'));
    assert.equal(tty.screen.lines[0], 'before any progress');
    assert.equal(tty.screen.lines[1], 'new       a (50 B)');
    assert.match(tty.screen.lines[2]!, /^ 50%  50 B \/ 100 B  1\/2 files/, 'drawn again, up to date');
    assert.equal(tty.screen.lines[3], 'a');
    assert.equal(tty.screen.lines.length, 4);
    display.stop();
    assert.deepEqual(tty.screen.lines, ['before any progress', 'new       a (50 B)']);
    display.around(() => tty.write('after\n'));
    assert.deepEqual(tty.screen.lines, ['before any progress', 'new       a (50 B)', 'after']);
  });

  test('follows the terminal width at each draw', () => {
    const clock = fakeClock();
    const tty = new FakeTty();
    const display = new ProgressDisplay({ stream: tty, now: clock.now, interval: 100 });
    display.event(plan(1, 100));
    display.event(chunk('some/long/path/to/a/file.bin', 10));
    tty.columns = 20;
    clock.advance(100);
    mock.timers.tick(100);
    assert.ok(tty.screen.lines.every((line) => line.length <= 19), JSON.stringify(tty.screen.lines));
    assert.equal(tty.screen.lines[1], '…path/to/a/file.bin');
    display.stop();
  });
});

describe('ProgressDisplay timer', () => {
  test('is unref\'d and stopped: it never holds the process', async () => {
    const tty = new FakeTty();
    const display = new ProgressDisplay({ stream: tty, interval: 5 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const exitListeners = process.listenerCount('exit');
    const before = timers();
    display.event(plan(1, 100));
    display.event(chunk('a', 1));
    assert.equal(timers(), before, 'an unref\'d timer keeps nothing alive');
    assert.equal(process.listenerCount('exit'), exitListeners + 1, 'erases the lines on process.exit()');
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.ok(tty.writes.length >= 2, 'the timer redraws');
    display.stop();
    const count = tty.writes.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(tty.writes.length, count, 'stopped');
    assert.equal(process.listenerCount('exit'), exitListeners);
  });
});
