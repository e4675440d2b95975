#!/usr/bin/env node
import { runClient } from '../dist/src/cli/client-cli.js';

// Exit as soon as the sync is done and reported (output to a pipe or file is written
// synchronously on Linux): the lanes' closing handshakes are not worth a round trip more.
process.exit(await runClient(process.argv.slice(2)));
