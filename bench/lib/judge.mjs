// Whether a scenario met its target, and the target as the table prints it.
// Targets: ratio (Pareco / baseline, medians), bytes (Pareco's largest bytesTransferred), rssKiB
// (client and server peaks), wireFraction (Pareco's largest proxy-counted bytes in the data
// direction, as a fraction of the source's file bytes), maxReadBytes ("nothing read": what the
// client and the server each read during a timed run, rchar, at most this), firstDataMs
// (median time from Pareco's start to its first file at the destination).

import { fmtBytes } from './format.mjs';
import { maxOf, median } from './stats.mjs';

function missed(res) {
  const t = res.target;
  const P = res.pareco;
  const failed = [];
  if (res.ratio === null || res.ratio > t.ratio) failed.push('time');
  if (t.bytes !== undefined && (P.maxBytes === null || P.maxBytes > t.bytes)) failed.push('bytes');
  if (t.rssKiB !== undefined) {
    if (P.clientRssKiB === null || P.clientRssKiB > t.rssKiB) failed.push('client RSS');
    if (res.server.vmHwmKiB === null || res.server.vmHwmKiB > t.rssKiB) failed.push('server RSS');
  }
  if (t.wireFraction !== undefined) {
    const wire = maxOf(P.runs.map((r) => (res.direction === 'upload' ? r.wire?.up : r.wire?.down)));
    if (wire === null || !res.fileBytes || wire > t.wireFraction * res.fileBytes) failed.push('wire bytes');
  }
  if (t.maxReadBytes !== undefined) {
    const read = maxOf(P.runs.flatMap((r) => [r.io?.rchar, r.serverIo?.rchar]));
    if (read === null || read > t.maxReadBytes) failed.push('read');
  }
  if (t.firstDataMs !== undefined) {
    const first = median(P.runs.map((r) => r.firstDataMs));
    if (first === null || first > t.firstDataMs) failed.push('first data');
  }
  return failed;
}

export function judge(res) {
  if (res.skipped) return { ok: null, text: `skipped: ${res.skipped}`, failed: [] };
  if (!res.ok) return { ok: false, text: 'FAILED', failed: ['run failed'] };
  // Pareco against Pareco without the option is Pareco against itself: nothing to judge.
  if (res.baseline && res.missing?.length) return { ok: null, text: `n/a (option missing: ${res.missing.join(', ')})`, failed: [] };
  const failed = missed(res);
  let text = failed.length ? `no (${failed.join(', ')})` : 'yes';
  if (res.missing?.length) text += `; option missing: ${res.missing.join(', ')}`;
  return { ok: failed.length === 0, failed, text };
}

export function targetText(t) {
  // Two decimals only where one would round the target (E: 0.25).
  const oneDecimal = Math.abs(Math.round(t.ratio * 10) - t.ratio * 10) < 1e-9;
  const parts = [`≤ ${t.ratio.toFixed(oneDecimal ? 1 : 2)}`];
  if (t.bytes !== undefined) parts.push(`bytes ≤ ${fmtBytes(t.bytes)}`);
  if (t.rssKiB !== undefined) parts.push(`RSS ≤ ${t.rssKiB / 1024} MiB`);
  if (t.wireFraction !== undefined) parts.push(`wire ≤ ${t.wireFraction} × file bytes`);
  if (t.maxReadBytes !== undefined) parts.push('nothing read');
  if (t.firstDataMs !== undefined) parts.push(`first data ≤ ${t.firstDataMs / 1000} s`);
  return parts.join('; ');
}
