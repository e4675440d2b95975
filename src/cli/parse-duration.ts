const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `100ms`, `3s`, `4m`, `2h` or `1.5s` into milliseconds; a bare number
 * means seconds. Throws an Error with a human message on anything else.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (match === null) throw new Error(`${JSON.stringify(text)} is not a duration (examples: 100ms, 3s, 4m, 2h)`);
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]!);
}
