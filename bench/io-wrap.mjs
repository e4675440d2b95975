// Read-volume probe for a Node entry point:
//   node bench/io-wrap.mjs OUTFILE SCRIPT [args…]
// runs SCRIPT (e.g. bin/pareco.js) in this very process and, on exit, copies /proc/self/io (all
// threads: the main thread and libuv's pool) to OUTFILE, so the harness can tell whether the
// client read a file's data (rchar: every byte returned by read(), page cache or not) or the
// disk (read_bytes: bytes fetched from storage).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [outFile, script, ...args] = process.argv.slice(2);
process.on('exit', () => {
  try { fs.writeFileSync(outFile, fs.readFileSync('/proc/self/io')); } catch { /* ignore */ }
});
process.argv = [process.argv[0], path.resolve(script), ...args];
await import(pathToFileURL(path.resolve(script)).href);
