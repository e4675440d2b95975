#!/usr/bin/env node
// The bundle (npm run build makes it), its compiled code cached between runs, when there is
// one; else the compiled modules.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/pareco.cjs', import.meta.url);
if (existsSync(bundle)) (await import('../dist/src/cli/bundle-loader.js')).runBundle(bundle);
else await import('../dist/src/cli/client-main.js');
