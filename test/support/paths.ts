import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLIENT_BIN = `${REPO_ROOT}bin/pareco.js`;
export const SERVER_BIN = `${REPO_ROOT}bin/pareco-server.js`;
