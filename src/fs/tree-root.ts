import { mkdir, realpath, stat } from 'node:fs/promises';
import { ErrorCode, ParecoError, toParecoError } from '../../protocol/index.js';

/**
 * Resolves the root directory of a tree to its real path, creating it first when it is a
 * destination. `label` names it in errors ("local directory ./a does not exist"); `check`
 * may refuse the real path before it is used.
 */
export async function prepareTreeRoot(
  path: string,
  label: string,
  options: { create: boolean; check?: (real: string) => Promise<void> },
): Promise<string> {
  try {
    if (options.create) await mkdir(path, { recursive: true });
    const real = await realpath(path);
    await options.check?.(real);
    if (!(await stat(real)).isDirectory()) throw new ParecoError(ErrorCode.NOT_A_DIRECTORY, `${label} is not a directory`);
    return real;
  } catch (error) {
    if (error instanceof ParecoError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ParecoError(ErrorCode.NOT_FOUND, `${label} does not exist`);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new ParecoError(ErrorCode.NOT_A_DIRECTORY, `${label} is not a directory`);
    throw toParecoError(error, path);
  }
}
