// node read-probe.js OUTFILE SCRIPT [args…]: runs SCRIPT in this process and, on exit, copies
// /proc/self/io (every thread's reads) to OUTFILE: what a test asserts a sync read.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [outFile, script, ...args] = process.argv.slice(2);
if (outFile === undefined || script === undefined) throw new Error('usage: read-probe.js OUTFILE SCRIPT [args…]');
process.on('exit', () => writeFileSync(outFile, readFileSync('/proc/self/io')));
process.argv = [process.argv[0]!, resolve(script), ...args];
await import(pathToFileURL(resolve(script)).href);
