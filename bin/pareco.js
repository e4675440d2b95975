#!/usr/bin/env node
import { runClient } from '../dist/src/cli/client-cli.js';

process.exitCode = await runClient(process.argv.slice(2));
