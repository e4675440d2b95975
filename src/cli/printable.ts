/**
 * Characters a file name may hold (any byte but / and NUL; a server chooses the names of a
 * download) that must not reach a terminal as they are: C0 and C1 controls and DEL (they move
 * the cursor, clear the screen, set the title) and the bidirectional embeddings, overrides and
 * isolates (they reorder what follows, so that `report\u202Etxt.exe` reads as `reportexe.txt`).
 * With the `u` flag a lone surrogate is a character of its own, never half of a pair: it is a
 * byte of a name that is not UTF-8 (see protocol/byte-names.ts).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;

const octal = (byte: number) => `\\#${byte.toString(8).padStart(3, '0')}`;

/**
 * A path or message as it may go to a terminal or a log: each unsafe character is shown as
 * the octal escapes of its UTF-8 bytes (`\#033`, `\#342\#200\#256`), and each byte of a name
 * that is not UTF-8 as its own (`caf\#351.txt`), as rsync does.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const unit = c.charCodeAt(0);
    if (unit >= 0xdc80 && unit <= 0xdcff) return octal(unit - 0xdc00);
    if (unit >= 0xd800 && unit <= 0xdfff) return octal(0xef) + octal(0xbf) + octal(0xbd); // cannot come from a name
    return [...Buffer.from(c)].map(octal).join('');
  });
}
