import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { defaultCacheDir } from '../fs/cache-dir.js';

/** Node ≥ 22.1's own compile cache (not in @types/node 20). */
const { enableCompileCache } = module as { enableCompileCache?: (dir: string) => unknown };

const INFORMATIONAL = new Set(['-v', '--version', '-h', '--help']);

/**
 * Runs a program's bundle (dist/bundle/NAME.cjs) with V8's compiled code kept between runs.
 *
 * Compiling the half-megabyte bundle is a seventh of a short run (a no-op sync: 0.136 s, 0.117 s
 * with the code cached). Node ≥ 22.1 keeps compiled code itself (`module.enableCompileCache`);
 * on Node 20 the bundle is compiled here with `vm.Script` and the code V8 produced by the end of
 * a run that succeeded (the functions the run used, not just the top level) is saved for the next.
 *
 * The cache lives in the user's cache directory (`$XDG_CACHE_HOME/pareco/code`, else
 * `~/.cache/pareco/code`), named by a hash of the bundle and the Node version: V8 checks only the
 * source's length before trusting cached code, so a changed bundle must never find the old
 * one. `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) turns it off; so does asking for
 * stack traces (DEBUG, `--log-level chunks`), which need the bundle loaded the ordinary way for
 * its source map. A cache that cannot be read or written only costs the compile.
 */
export function runBundle(bundle: URL): void {
  const file = fileURLToPath(bundle);
  const dir = join(defaultCacheDir(), 'code');
  const wantsStackTraces = process.env.DEBUG !== undefined || process.argv.includes('chunks');
  if (process.env.NODE_DISABLE_COMPILE_CACHE !== undefined || wantsStackTraces) {
    createRequire(file)(file);
  } else if (enableCompileCache !== undefined) {
    try {
      enableCompileCache(dir);
    } catch {
      // No cache: compiled as usual.
    }
    createRequire(file)(file);
  } else {
    runWithCodeCache(file, dir);
  }
}

/** Node 20: compiles the CommonJS bundle as Node would, with cached code when there is some. */
function runWithCodeCache(file: string, dir: string): void {
  const source = readFileSync(file, 'utf8');
  const name = basename(file, '.cjs');
  const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 24);
  const cacheFile = join(dir, `${name}-${key}.v8`);
  const cachedData = readCache(cacheFile);
  // The wrapper Node gives every CommonJS module.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // Saved from a run that did its work: V8 compiles a function when it first runs, and the
    // code of a `--version` or a refused option would leave most of a sync to compile.
    const informational = process.argv.some((arg) => INFORMATIONAL.has(arg));
    process.once('exit', (code) => {
      if (code === 0 && !informational) saveCache(dir, name, cacheFile, script);
    });
  }
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
}

function readCache(cacheFile: string): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** Saves the code compiled so far, atomically, and removes this program's caches of other bundles. */
function saveCache(dir: string, name: string, cacheFile: string, script: Script): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
    renameSync(temporary, cacheFile);
    for (const other of readdirSync(dir)) {
      if (other.startsWith(`${name}-`) && other.endsWith('.v8') && join(dir, other) !== cacheFile) rmSync(join(dir, other), { force: true });
    }
  } catch {
    // Not saved: the next run compiles again.
  }
}
