import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { seededBytes, makeTree } from '../support/make-tree.js';
import { CLIENT_BIN } from '../support/paths.js';
import { runPareco } from '../support/run-cli.js';
import { tempDir } from '../support/temp-dir.js';
import { TerminalScreen } from '../support/terminal-screen.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const COLUMNS = 100;
/** util-linux `script` gives the CLI a real pseudo-terminal; without it the terminal tests skip. */
const noScript = spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script is not installed';
const M = 1024 ** 2;

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Environment without anything that would change colour or progress decisions. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'PARECO_AUTH_TOKEN', 'DEBUG'] as const) if (!(name in extra)) delete env[name];
  return env;
}

/**
 * Runs the real pareco CLI with stdout and stderr on a pseudo-terminal (util-linux `script`)
 * of COLUMNS columns, and returns everything the terminal received.
 */
function runInTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const command = `stty cols ${COLUMNS} rows 40 && exec ${[process.execPath, CLIENT_BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    // The redraw timer must not keep the process alive: a hang shows here as a kill.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The percentages of every progress frame, in order. */
const percents = (output: string) => [...output.matchAll(/(\d+)%  [\d.]+ [KMG]?i?B \//g)].map((m) => Number(m[1]));

/** The first line: the server's version, once connected. */
const CONNECTED = /^connected to pareco-server \d+\.\d+\.\d+: session \S+, \d+ connections$/;
/** The log lines of the upload below, sorted (files finish in any order). */
const LOG_LINES = ['mkdir     sub/', 'new       a.bin (2.00 MiB)', 'new       b.bin (2.00 MiB)', 'new       sub/big.bin (8.00 MiB)', 'new       sub/c.bin (2.00 MiB)'].sort();
const SUMMARY_LINES = [/^files: 4 total, 4 transferred, 0 skipped, 0 deleted$/, /^bytes: 14\.0 MiB total, 14\.0 MiB transferred, 0 B skipped$/, /^wire: 14\.0 MiB sent, .* received$/, /^time: /];

describe('progress display on a real terminal', () => {
  let dir: string;
  let src: string;
  before(async () => {
    dir = await tempDir();
    src = join(dir, 'src');
    await makeTree(src, {
      'a.bin': seededBytes(2 * M, 'a'),
      'b.bin': seededBytes(2 * M, 'b'),
      'sub/c.bin': seededBytes(2 * M, 'c'),
      'sub/big.bin': seededBytes(8 * M, 'big'),
    });
  });

  test('an upload redraws in place up to 100%, and the screen ends as a plain log', { skip: noScript }, async () => {
    const dst = join(dir, 'dst-tty');
    const { code, output } = await runInTerminal(['-m', 'upload', '-l', src, '-r', dst]);
    assert.equal(code, 0, output);
    assert.deepEqual(await snapshotTree(dst), await snapshotTree(src));

    assert.ok(output.includes('\r\x1b[2K\x1b[1A\x1b[2K'), 'progress lines erased in place');
    const shown = percents(output);
    assert.ok(shown.length >= 2, `at least the first and the final frame: ${JSON.stringify(shown)}`);
    assert.equal(shown.at(-1), 100);
    for (let i = 1; i < shown.length; i++) assert.ok(shown[i]! >= shown[i - 1]!, `never backwards: ${shown}`);
    assert.match(output, /100%  14\.0 MiB \/ 14\.0 MiB  4\/4 files  .*ETA 0:00/);
    assert.doesNotMatch(output, /\x1b\[\d*m/, 'no colour: nothing went wrong, and no up-to-date lines at this level');

    // Every line the terminal got fits: none wraps (which would break the redraw).
    for (const line of output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split(/\r\n|\r|\n/)) assert.ok(line.length < COLUMNS, line);

    const screen = new TerminalScreen({ columns: COLUMNS, lfReturns: true });
    screen.write(output);
    const [connected, ...lines] = screen.lines;
    assert.match(connected!, CONNECTED, lines.join('\n'));
    assert.deepEqual(lines.slice(0, LOG_LINES.length).sort(), LOG_LINES, lines.join('\n'));
    assert.equal(lines.length, LOG_LINES.length + SUMMARY_LINES.length, lines.join('\n'));
    SUMMARY_LINES.forEach((pattern, i) => assert.match(lines[LOG_LINES.length + i]!, pattern));
    assert.deepEqual(screen.cursor, { row: lines.length + 1, col: 0 }, 'the cursor on a fresh line');
  });

  test('piped output has no progress and no escape codes', async () => {
    const result = await runPareco(['-m', 'upload', '-l', src, '-r', join(dir, 'dst-pipe')], { env: cleanEnv() });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.doesNotMatch(result.stdout, /[\x1b\r]|%/);
    const [connected, ...lines] = result.stdout.trimEnd().split('\n');
    assert.match(connected!, CONNECTED);
    assert.deepEqual(lines.slice(0, LOG_LINES.length).sort(), LOG_LINES);
    assert.equal(lines.length, LOG_LINES.length + SUMMARY_LINES.length);
    SUMMARY_LINES.forEach((pattern, i) => assert.match(lines[LOG_LINES.length + i]!, pattern));
  });

  test('--json on a terminal: pure NDJSON, no progress', { skip: noScript }, async () => {
    const { code, output } = await runInTerminal(['-m', 'upload', '-l', src, '-r', join(dir, 'dst-json'), '--json']);
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /\x1b/);
    for (const line of output.trimEnd().split('\r\n')) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  test('a fatal error on a terminal: red prefix, no progress; NO_COLOR takes the colour away', { skip: noScript }, async () => {
    const args = ['-m', 'upload', '-l', join(dir, 'missing'), '-r', join(dir, 'dst-err')];
    const coloured = await runInTerminal(args);
    assert.equal(coloured.code, 1);
    assert.match(coloured.output, /^\x1b\[31mpareco: error:\x1b\[39m .*missing/);
    assert.doesNotMatch(coloured.output, /%/);
    const plain = await runInTerminal(args, { NO_COLOR: '1' });
    assert.equal(plain.code, 1);
    assert.match(plain.output, /^pareco: error: .*missing.*\r\n$/);
  });

  test('FORCE_COLOR colours a piped error', async () => {
    const result = await runPareco(['-m', 'upload', '-l', join(dir, 'missing'), '-r', join(dir, 'dst-err')], { env: cleanEnv({ FORCE_COLOR: '1' }) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^\x1b\[31mpareco: error:\x1b\[39m /);
  });
});
