// Sizes, durations and peak RSS as the report prints them. Sizes are binary ("200 MB" targets
// are read as MiB), and an absent figure prints as "–" so a failed run still fills its row.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n < KiB) return `${n} B`;
  if (n < MiB) return `${(n / KiB).toFixed(1)} KiB`;
  if (n < GiB) return `${(n / MiB).toFixed(n < 10 * MiB ? 2 : 1)} MiB`;
  return `${(n / GiB).toFixed(2)} GiB`;
}

/** A configured size: "1 GiB", "256 MiB" when round, else as fmtBytes. */
export const fmtSize = (n) => (n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : fmtBytes(n));
export const fmtS = (ms) => (ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(2));
export const fmtRss = (kib) => (kib === null || kib === undefined ? '–' : `${Math.round(kib / 1024)} MiB`);
