#!/usr/bin/env node
// The bundle (npm run build makes it) when there is one, else the compiled modules.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/pareco-server.mjs', import.meta.url);
await import(existsSync(bundle) ? bundle.href : new URL('../dist/src/cli/server-main.js', import.meta.url).href);
