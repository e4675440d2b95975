// Bundles each program into one file (dist/bundle/pareco.cjs, pareco-server.cjs), after tsc
// has compiled to dist/: Node then reads and compiles one module instead of resolving and
// loading ~90, which is most of a short run's start-up (a no-op sync: 0.24 s -> 0.18 s here).
// Native packages stay outside (they are loaded with createRequire when used), and so does
// prom-client (loaded only for a server's metrics). Source maps sit beside the bundles: stack
// traces (DEBUG=1 or --log-level chunks) point into src/.
import { build } from 'esbuild';

const programs = { pareco: 'dist/src/cli/client-main.js', 'pareco-server': 'dist/src/cli/server-main.js' };

await build({
  entryPoints: Object.entries(programs).map(([out, entry]) => ({ in: entry, out })),
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  // CommonJS, so that Node 20 can run it with V8's cached code (src/cli/bundle-loader.ts).
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // Smaller to read and parse; names are kept, so a stack trace still says which function.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcesContent: false,
  external: ['better-sqlite3', 'zstd-napi', '@node-rs/xxhash', 'prom-client'],
  // The modules find their package's files from import.meta.url.
  define: { 'import.meta.url': '__pareco_import_meta_url' },
  banner: { js: "const __pareco_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
