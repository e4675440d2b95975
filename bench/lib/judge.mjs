// Whether a scenario met its target, and the target as the table prints it.

import { fmtBytes } from './format.mjs';

export function judge(res) {
  if (!res.ok) return { ok: false, text: 'FAILED', failed: ['run failed'] };
  const t = res.target;
  const failed = [];
  if (res.ratio === null || res.ratio > t.ratio) failed.push('time');
  if (t.bytes !== undefined && (res.pareco.maxBytes === null || res.pareco.maxBytes > t.bytes)) failed.push('bytes');
  if (t.rssKiB !== undefined) {
    if (res.pareco.clientRssKiB === null || res.pareco.clientRssKiB > t.rssKiB) failed.push('client RSS');
    if (res.server.vmHwmKiB === null || res.server.vmHwmKiB > t.rssKiB) failed.push('server RSS');
  }
  return { ok: failed.length === 0, failed, text: failed.length ? `no (${failed.join(', ')})` : 'yes' };
}

export function targetText(t) {
  // Two decimals only where one would round the target (E: 0.25).
  const oneDecimal = Math.abs(Math.round(t.ratio * 10) - t.ratio * 10) < 1e-9;
  const parts = [`≤ ${t.ratio.toFixed(oneDecimal ? 1 : 2)}`];
  if (t.bytes !== undefined) parts.push(`bytes ≤ ${fmtBytes(t.bytes)}`);
  if (t.rssKiB !== undefined) parts.push(`RSS ≤ ${t.rssKiB / 1024} MiB`);
  return parts.join('; ');
}
