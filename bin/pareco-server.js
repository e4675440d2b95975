#!/usr/bin/env node
import { runServer } from '../dist/src/cli/server-cli.js';

process.exitCode = await runServer(process.argv.slice(2));
