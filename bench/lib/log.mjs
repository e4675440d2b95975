// Progress lines go to stderr, so that stdout carries only the final table.

const useColor = process.stderr.isTTY;

export const red = (s) => (useColor ? `\x1b[1;31m${s}\x1b[0m` : s);
export const log = (s) => process.stderr.write(`${s}\n`);
