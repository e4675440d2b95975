/** The characters that open an extglob group when a '(' follows them: '+(a|b)', '*(x)', '!(y)'... */
const GROUP_OPENERS = '+@!?*';

/**
 * The pieces of one pattern segment (no '/') around its in-name '**': each run of two or more
 * '*' splits it, so 'a**b*c' gives ['a', 'b*c'] and '**.txt' gives ['', '.txt']. A segment
 * without one is returned whole. The caller treats a segment that is exactly '**' as a
 * whole-segment globstar before asking.
 *
 * A '*' only counts where minimatch reads it as a wildcard: not escaped ('\*'), not inside a
 * '[...]' class, not inside an extglob group, and not the '*' of '*(': '**(a)' is '*' then the
 * group '*(a)'. Those stay inside a piece, for minimatch to read as it always has.
 */
export function splitAtInNameStars(segment: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  while (i < segment.length) {
    const c = segment[i]!;
    if (c === '\\') {
      i += 2;
    } else if (c === '[') {
      const close = classEnd(segment, i);
      i = close === -1 ? i + 1 : close + 1;
    } else if (GROUP_OPENERS.includes(c) && segment[i + 1] === '(') {
      const close = groupEnd(segment, i + 1);
      i = close === -1 ? i + 1 : close + 1;
    } else if (c === '*') {
      let end = i;
      while (segment[end] === '*') end++;
      if (segment[end] === '(') end--; // that last '*' opens a group: the next turn skips it
      if (end - i >= 2) {
        pieces.push(segment.slice(start, i));
        start = end;
      }
      i = end;
    } else {
      i++;
    }
  }
  pieces.push(segment.slice(start));
  return pieces;
}

/** POSIX classes inside a class, such as '[[:alpha:]]': their ']' does not close it. */
const POSIX_CLASS = /\[:(?:alnum|alpha|ascii|blank|cntrl|digit|graph|lower|print|punct|space|upper|word|xdigit):\]/y;

/**
 * The index of the ']' that closes the class opened at `open`, or -1 when it is not closed (the
 * '[' is then a literal). The rule of minimatch's class parser: a ']' right after '[', '[!' or
 * '[^' is a member, '\' escapes the character after it, and a POSIX class is one member.
 */
function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  for (let first = true; i < pattern.length; i++, first = false) {
    const c = pattern[i];
    if (c === ']' && !first) return i;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      POSIX_CLASS.lastIndex = i;
      if (POSIX_CLASS.test(pattern)) i = POSIX_CLASS.lastIndex - 1;
    }
  }
  return -1;
}

/** The index of the ')' that closes the extglob group whose '(' is at `open`, or -1. */
function groupEnd(pattern: string, open: number): number {
  let depth = 1;
  for (let i = open + 1; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      const close = classEnd(pattern, i);
      if (close !== -1) i = close;
    } else if (GROUP_OPENERS.includes(c) && pattern[i + 1] === '(') {
      depth++;
      i++;
    } else if (c === ')' && --depth === 0) {
      return i;
    }
  }
  return -1;
}
