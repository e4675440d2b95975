// Fallback peak-RSS probe when /usr/bin/time is missing:
//   node bench/rss-wrap.mjs OUTFILE SCRIPT [args…]
// runs SCRIPT (an ESM entry point such as bin/pareco.js) in this very process and, on exit, writes
// process.resourceUsage().maxRSS (KiB) to OUTFILE.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [outFile, script, ...args] = process.argv.slice(2);
process.on('exit', () => {
  try { fs.writeFileSync(outFile, `${process.resourceUsage().maxRSS}\n`); } catch { /* ignore */ }
});
process.argv = [process.argv[0], path.resolve(script), ...args];
await import(pathToFileURL(path.resolve(script)).href);
