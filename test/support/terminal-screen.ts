/**
 * A small terminal emulator, enough to replay what Pareco writes and see the screen a user
 * would see: printable text with auto-wrap, CR, LF, cursor up (CSI n A), erase line (CSI 2K),
 * erase to end of line (CSI K); colours and other CSI sequences are ignored. Lines are not
 * limited in number (as if the screen were tall enough to hold everything).
 */
export class TerminalScreen {
  readonly #columns: number;
  /** Whether LF also returns to column 0, as a terminal's tty driver does (onlcr). */
  readonly #lfReturns: boolean;
  readonly #lines: string[][] = [[]];
  #row = 0;
  #col = 0;

  constructor(options: { columns: number; lfReturns: boolean }) {
    this.#columns = options.columns;
    this.#lfReturns = options.lfReturns;
  }

  write(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === '\r') this.#col = 0;
      else if (char === '\n') {
        this.#row++;
        if (this.#lfReturns) this.#col = 0;
        this.#lines[this.#row] ??= [];
      } else if (char === '\x1b' && text[i + 1] === '[') {
        const match = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(text.slice(i));
        if (match === null) throw new Error(`unterminated escape sequence at ${JSON.stringify(text.slice(i, i + 10))}`);
        this.#control(match[1]!, match[2]!);
        i += match[0].length - 1;
      } else if (char < ' ' || char === '\x7f') {
        throw new Error(`control character ${JSON.stringify(char)} written to the terminal`);
      } else {
        if (this.#col >= this.#columns) {
          this.#row++;
          this.#col = 0;
          this.#lines[this.#row] ??= [];
        }
        const line = this.#lines[this.#row]!;
        while (line.length < this.#col) line.push(' ');
        line[this.#col++] = char;
      }
    }
  }

  /** The screen's lines, trailing spaces and trailing empty lines removed. */
  get lines(): string[] {
    const lines = this.#lines.map((line) => line.join('').trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** The cursor position (row from the top, column). */
  get cursor(): { row: number; col: number } {
    return { row: this.#row, col: this.#col };
  }

  #control(params: string, final: string): void {
    const n = params === '' ? undefined : Number(params);
    const line = this.#lines[this.#row]!;
    switch (final) {
      case 'A':
        this.#row = Math.max(0, this.#row - (n ?? 1));
        break;
      case 'K':
        if (n === 2) line.length = 0;
        else if (n === undefined || n === 0) line.length = Math.min(line.length, this.#col);
        else throw new Error(`unsupported erase CSI ${params}K`);
        break;
      case 'm':
        break;
      default:
        throw new Error(`unsupported escape sequence CSI ${params}${final}`);
    }
  }
}
