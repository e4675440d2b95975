import { runClient } from './client-cli.js';

// The client program: exits as soon as the sync is done and reported (output to a pipe or file
// is written synchronously on Linux): the lanes' closing handshakes are not worth a round trip.
// Stack traces (printed with DEBUG set, or at --log-level chunks) point into src/ through the
// bundle's source map.
if (process.env.DEBUG || process.argv.includes('chunks')) process.setSourceMapsEnabled(true);
void runClient(process.argv.slice(2)).then((code) => process.exit(code));
