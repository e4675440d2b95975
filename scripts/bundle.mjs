// Bundles each program into one file (dist/bundle/pareco.mjs, pareco-server.mjs), after tsc
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
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Smaller to read and parse; names are kept, so a stack trace still says which function.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcesContent: false,
  external: ['better-sqlite3', 'zstd-napi', '@node-rs/xxhash', 'prom-client'],
  // Bundled CommonJS packages (ws, commander) require Node's modules: give the ESM bundle a require.
  banner: { js: "import { createRequire as __pareco_require } from 'node:module'; const require = __pareco_require(import.meta.url);" },
  logLevel: 'warning',
});
