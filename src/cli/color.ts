/** A stream as far as colour and cursor control care: a TTY or not. */
export interface OutputStream {
  isTTY?: boolean;
}

/**
 * Whether to colour what goes to `stream`, by the usual conventions: FORCE_COLOR set to anything
 * but `0`/`false` forces colour on even into a pipe, and `0`/`false` forces it off
 * (https://force-color.org; like Node and chalk, it beats NO_COLOR); NO_COLOR with any value
 * turns it off (https://no-color.org); an empty variable counts as unset. Otherwise colour only
 * on a terminal that is not `TERM=dumb`.
 */
export function colorEnabled(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export interface Palette {
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain = (text: string) => text;

/**
 * The few colours Pareco uses, or identity functions when colour is off. Not consola's `colors`:
 * those are decided once for process.stdout at import, and treat an empty NO_COLOR as set.
 */
export function palette(enabled: boolean): Palette {
  return enabled ? { red: sgr(31, 39), yellow: sgr(33, 39), dim: sgr(2, 22) } : { red: plain, yellow: plain, dim: plain };
}
