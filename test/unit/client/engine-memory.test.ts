import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const RUNNER = fileURLToPath(new URL('../../support/engine-memory-run.js', import.meta.url));
/**
 * Entries of the generated tree, and the heap that must be enough for a streaming sync of them.
 * Far apart on purpose: on Node 24 the streaming sync needs 48–56 MiB whatever the tree (it ran
 * out of 40 MiB now and then under load), while holding 200,000 entries needs 72–96 MiB, so
 * 400,000 of them cannot fit in 72.
 */
const FILES = 400_000;
const HEAP_MB = 72;

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, RUNNER, String(FILES), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

test(`memory does not grow with the tree: ${FILES} files sync in a ${HEAP_MB} MiB heap, which holding the listing would exceed`, async () => {
  const [streaming, holding] = await Promise.all([run([]), run(['--hold'])]);
  assert.equal(streaming.code, 0, `the streaming sync ran out of its ${HEAP_MB} MiB heap`);
  assert.equal(JSON.parse(streaming.stdout).transferred, FILES);
  // The control: the same run keeping every source entry (as a sync building a manifest would)
  // dies of the heap limit, so the limit is one that would catch an engine that held the tree.
  assert.notEqual(holding.code, 0, 'the control that holds the listing should have run out of heap');
});
