// Statistics over the runs of one tool: medians for times and bytes (robust against one slow
// run on a shared machine), maxima for peak memory and for bytes checked against a target.

export function median(xs) {
  const a = xs.filter((x) => typeof x === 'number').sort((x, y) => x - y);
  if (!a.length) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

export function maxOf(xs) {
  const a = xs.filter((x) => typeof x === 'number');
  return a.length ? Math.max(...a) : null;
}
