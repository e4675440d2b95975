import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the digest cache lives unless told otherwise: the user's cache directory as the XDG
 * base directory specification names it ($XDG_CACHE_HOME, else ~/.cache), under `pareco`.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'pareco');
}
