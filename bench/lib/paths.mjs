// Where things are: the repository under test, the bench directory and its output.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(BENCH_DIR, '..');
export const OUT_DIR = path.join(BENCH_DIR, 'out');
/** The Node that runs the harness runs Pareco too. */
export const NODE = process.execPath;
