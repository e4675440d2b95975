import { runServer } from './server-cli.js';

// The server program: runs until SIGINT/SIGTERM (see runServer).
// Stack traces (with DEBUG set) point into src/ through the bundle's source map.
if (process.env.DEBUG) process.setSourceMapsEnabled(true);
void runServer(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
