const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a byte size such as `200`, `30K`, `2m`, `1.5G` or `64KiB` (binary units, any case).
 * Throws an Error with a human message on anything else.
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (match === null) throw new Error(`${JSON.stringify(text)} is not a size (examples: 200, 30K, 2M, 1G)`);
  const bytes = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${JSON.stringify(text)} is not a whole number of bytes`);
  return bytes;
}

/** Formats bytes for people: 1.5 MiB. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
