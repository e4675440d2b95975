/**
 * Characters a file name may hold (any byte but / and NUL; a server chooses the names of a
 * download) that must not reach a terminal as they are: C0 and C1 controls and DEL (they move
 * the cursor, clear the screen, set the title) and the bidirectional embeddings, overrides and
 * isolates (they reorder what follows, so that `report\u202Etxt.exe` reads as `reportexe.txt`).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A path or message as it may go to a terminal or a log: each unsafe character is shown as
 * the octal escapes of its UTF-8 bytes (`\#033`, `\#342\#200\#256`), as rsync does.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => [...Buffer.from(c)].map((byte) => `\\#${byte.toString(8).padStart(3, '0')}`).join(''));
}
