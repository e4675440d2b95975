import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { printable } from '../../../src/cli/printable.js';
import { Reporter, type LogLevel, type ReporterOptions } from '../../../src/cli/reporter.js';
import { emptySummary, type SyncEvent } from '../../../src/client/sync-report.js';
import { TerminalScreen } from '../../support/terminal-screen.js';

/** stdout or stderr: a terminal or a pipe. Both may write to one shared screen, in order. */
class FakeStream extends Writable {
  readonly isTTY: boolean;
  readonly columns = 80;
  text = '';
  writes = 0;
  readonly #screen: TerminalScreen | undefined;

  constructor(isTTY: boolean, screen?: TerminalScreen) {
    super();
    this.isTTY = isTTY;
    this.#screen = screen;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    this.writes++;
    this.#screen?.write(chunk.toString());
    done();
  }
}

interface Setup {
  reporter: Reporter;
  stdout: FakeStream;
  stderr: FakeStream;
  screen: TerminalScreen;
}

/** A reporter whose stdout and stderr are one terminal (or pipes, with `tty: false`). */
function setup(options: { tty?: boolean; level?: LogLevel; json?: boolean; progress?: boolean; env?: NodeJS.ProcessEnv } = {}): Setup {
  const tty = options.tty ?? true;
  const screen = new TerminalScreen({ columns: 80, lfReturns: true });
  const stdout = new FakeStream(tty, screen);
  const stderr = new FakeStream(tty, screen);
  const reporterOptions: ReporterOptions = {
    level: options.level ?? 'files',
    json: options.json ?? false,
    stdout,
    stderr,
    progress: options.progress,
    env: options.env ?? {},
  };
  return { reporter: new Reporter(reporterOptions), stdout, stderr, screen };
}

/** A small sync: two new files, an up-to-date one, a warning and a failed file. */
const EVENTS: SyncEvent[] = [
  { type: 'connected', session: 's1', server: '0.1.0', lanes: 2 },
  { type: 'mkdir', path: 'dir' },
  { type: 'plan', files: 4, bytes: 3000, complete: true },
  { type: 'chunk', path: 'dir/a', offset: 0, length: 1000 },
  { type: 'file', path: 'dir/a', action: 'new', size: 1000, bytesSent: 1000, mtime: 0, mode: 0o644 },
  { type: 'warning', path: 'dir/x', code: 'SPECIAL_FILE', message: 'dir/x: skipping special file' },
  { type: 'file', path: 'b', action: 'uptodate', size: 1000, bytesSent: 0, mtime: 0, mode: 0o644 },
  { type: 'error', path: 'c', code: 'PERMISSION', message: 'c: permission denied' },
  { type: 'chunk', path: 'd', offset: 0, length: 500 },
  { type: 'file', path: 'd', action: 'new', size: 500, bytesSent: 500, mtime: 0, mode: 0o644 },
];

const SUMMARY = { ...emptySummary(), filesTotal: 4, filesTransferred: 2, filesSkipped: 1, filesFailed: 1, bytesTotal: 3000, durationMs: 1000 };

/** What a pipe gets today, and what the terminal must show at the end. */
const PLAIN_LINES = [
  'connected to pareco-server 0.1.0: session s1, 2 connections',
  'mkdir     dir/',
  'new       dir/a (1000 B)',
  'pareco: warning: dir/x: skipping special file',
  'pareco: error: c: permission denied',
  'new       d (500 B)',
  'files: 4 total, 2 transferred, 1 skipped, 0 deleted, 1 failed',
  'bytes: 2.93 KiB total, 0 B transferred, 0 B skipped',
  'wire: 0 B sent, 0 B received',
  'time: 1.00s, speed 0 B/s, effective 2.93 KiB/s',
];

const ESC = '\x1b';

describe('Reporter on pipes', () => {
  test('plain lines: no progress, no colour, no escape codes', () => {
    const { reporter, stdout, stderr } = setup({ tty: false });
    for (const event of EVENTS) reporter.event(event);
    reporter.summary(SUMMARY);
    assert.ok(!stdout.text.includes(ESC) && !stderr.text.includes(ESC));
    assert.equal(
      stdout.text,
      [...PLAIN_LINES.slice(0, 3), 'new       d (500 B)', ...PLAIN_LINES.slice(6)].join('\n') + '\n',
    );
    assert.equal(stderr.text, 'pareco: warning: dir/x: skipping special file\npareco: error: c: permission denied\n');
  });

  test('lines are written in batches: after 100 ms at most, at the summary, and before any stderr line', async () => {
    const json = setup({ tty: false, json: true });
    const file: SyncEvent = { type: 'file', path: 'f', action: 'new', size: 1, bytesSent: 1, mtime: 0, mode: 0o644 };
    for (let i = 0; i < 100; i++) json.reporter.event(file);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(json.stdout.writes, 0, 'held for a while');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(json.stdout.writes, 1);
    assert.equal(json.stdout.text.split('\n').length, 101);
    json.reporter.event(file);
    json.reporter.summary(SUMMARY);
    assert.equal(json.stdout.writes, 2, 'the last line and the summary in one write, at once');
    assert.match(json.stdout.text, /"type":"summary"[^\n]*\n$/);

    // Both streams into one file (2>&1): the order of the lines is kept.
    const { reporter, screen } = setup({ tty: false });
    reporter.event(EVENTS[4]!);
    reporter.event(EVENTS[5]!);
    reporter.event({ ...file, path: 'e' });
    reporter.fatal(new Error('lost'));
    assert.deepEqual(screen.lines.filter(Boolean), [
      'new       dir/a (1000 B)',
      'pareco: warning: dir/x: skipping special file',
      'new       e (1 B)',
      'pareco: error: lost',
    ]);
  });

  test('--progress forces the display on a pipe too', () => {
    const { reporter, stderr } = setup({ tty: false, progress: true });
    reporter.event({ type: 'plan', files: 1, bytes: 10, complete: true });
    assert.match(stderr.text, /0%  0 B \/ 10 B/);
    reporter.summary(SUMMARY);
  });
});

describe('Reporter on a terminal', () => {
  test('log lines never mix with the progress lines, which sit below them and go at the end', () => {
    const { reporter, stderr, screen } = setup({ env: { NO_COLOR: '1' } });
    let planned = false;
    for (const event of EVENTS) {
      reporter.event(event);
      planned ||= event.type === 'plan';
      // Above: whole log lines, in order, none garbled. Below: the progress lines, and nothing else.
      const lines = screen.lines;
      const progressAt = lines.findIndex((line) => /^ *\d+%  /.test(line));
      const logged = progressAt < 0 ? lines : lines.slice(0, progressAt);
      assert.deepEqual(logged, PLAIN_LINES.slice(0, logged.length), JSON.stringify(lines));
      assert.equal(progressAt >= 0, planned, JSON.stringify(lines));
      if (planned) assert.ok(lines.length - progressAt <= 2, JSON.stringify(lines));
    }
    assert.equal(screen.lines.at(-2), ' 83%  2.44 KiB / 2.93 KiB  4/4 files  --  ETA 0:00', 'the final state, drawn at once');
    assert.equal(screen.lines.at(-1), 'd');
    assert.match(stderr.text, /\r\x1b\[2K\x1b\[1A\x1b\[2K/);
    reporter.summary(SUMMARY);
    assert.deepEqual(screen.lines, PLAIN_LINES, 'the screen ends as a log would');
  });

  test('a fatal error clears the progress lines first', () => {
    const { reporter, screen } = setup({ env: { NO_COLOR: '1' } });
    reporter.event({ type: 'plan', files: 2, bytes: 100, complete: true });
    reporter.event({ type: 'chunk', path: 'a', offset: 0, length: 10 });
    reporter.fatal(new Error('connection lost'));
    assert.deepEqual(screen.lines, ['pareco: error: connection lost']);
  });

  test('no progress when switched off, at log level quiet, with TERM=dumb, or with --json', () => {
    for (const options of [{ progress: false }, { level: 'quiet' as const }, { env: { TERM: 'dumb' } }, { json: true }, { level: 'off' as const, progress: true }]) {
      const { reporter, stderr } = setup(options);
      reporter.event({ type: 'plan', files: 1, bytes: 10, complete: true });
      reporter.event({ type: 'chunk', path: 'a', offset: 0, length: 10 });
      assert.doesNotMatch(stderr.text, /%/, JSON.stringify(options));
      reporter.summary(SUMMARY);
    }
  });

  test('--progress with --log-level quiet: progress, no file lines', () => {
    const { reporter, stdout, stderr, screen } = setup({ level: 'quiet', progress: true, env: { NO_COLOR: '1' } });
    for (const event of EVENTS) reporter.event(event);
    assert.equal(stdout.text, '');
    assert.match(stderr.text, /4\/4 files/);
    reporter.summary(SUMMARY);
    assert.deepEqual(screen.lines, ['pareco: warning: dir/x: skipping special file', 'pareco: error: c: permission denied']);
  });

  test('colours: red errors, yellow warnings, dim up-to-date lines', () => {
    const { reporter, stdout, stderr } = setup({ level: 'chunks', progress: false });
    for (const event of EVENTS) reporter.event(event);
    reporter.fatal(new Error('boom'));
    assert.match(stderr.text, /^\x1b\[33mpareco: warning:\x1b\[39m dir\/x: skipping special file$/m);
    assert.match(stderr.text, /^\x1b\[31mpareco: error:\x1b\[39m c: permission denied$/m);
    assert.match(stderr.text, /^\x1b\[31mpareco: error:\x1b\[39m boom$/m);
    assert.match(stdout.text, /^\x1b\[2muptodate  b\x1b\[22m$/m);
    assert.match(stdout.text, /^new       d \(500 B\)$/m, 'other lines stay plain');
  });

  test('NO_COLOR: no colour, and the progress display stays', () => {
    const { reporter, stdout, stderr } = setup({ level: 'chunks', env: { NO_COLOR: 'yes' } });
    for (const event of EVENTS) reporter.event(event);
    reporter.summary(SUMMARY);
    assert.doesNotMatch(stdout.text + stderr.text, /\x1b\[\d*m/);
    assert.match(stderr.text, /\x1b\[2K/);
  });

  test('FORCE_COLOR colours pipes; FORCE_COLOR=0 stops colour on a terminal', () => {
    const forced = setup({ tty: false, env: { FORCE_COLOR: '1' } });
    forced.reporter.event(EVENTS[7]!);
    assert.equal(forced.stderr.text, '\x1b[31mpareco: error:\x1b[39m c: permission denied\n');
    const off = setup({ progress: false, env: { FORCE_COLOR: '0' } });
    off.reporter.event(EVENTS[7]!);
    assert.equal(off.stderr.text, 'pareco: error: c: permission denied\n');
  });
});

describe('Reporter with --json', () => {
  test('stdout is pure NDJSON even on a terminal with FORCE_COLOR; human lines on stderr may be coloured', () => {
    const { reporter, stdout, stderr } = setup({ json: true, level: 'chunks', env: { FORCE_COLOR: '1' } });
    for (const event of EVENTS) reporter.event(event);
    reporter.summary(SUMMARY);
    reporter.fatal(Object.assign(new Error('late'), { code: 'CONNECTION' }));
    const lines = stdout.text.trimEnd().split('\n');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.ok(!stdout.text.includes(ESC));
    assert.equal(lines.length, EVENTS.length + 2);
    assert.match(stderr.text, /\x1b\[31mpareco: error:/);
    assert.doesNotMatch(stderr.text, /%/, 'no progress with --json unless asked');
  });

  test('--json --progress: progress on stderr, stdout untouched', () => {
    const { reporter, stdout, stderr } = setup({ json: true, progress: true });
    for (const event of EVENTS) reporter.event(event);
    reporter.summary(SUMMARY);
    assert.ok(!stdout.text.includes(ESC));
    assert.match(stderr.text, /4\/4 files/);
  });
});

test('printable: control and bidi characters in names are shown as \\#ooo of their bytes, everything else as is', () => {
  assert.equal(printable('a\x1b[2Jb\nc\x7fé 日本'), 'a\\#033[2Jb\\#012c\\#177é 日本');
  assert.equal(printable('report\u202etxt.exe'), 'report\\#342\\#200\\#256txt.exe');
  assert.equal(printable('\u2066x\u2069 \u0085'), '\\#342\\#201\\#246x\\#342\\#201\\#251 \\#302\\#205');
});
