// The report: the summary table (stdout and bench/out/RESULTS.md), per-run details, and
// bench/out/results.json with everything.

import fs from 'node:fs';
import path from 'node:path';

import { fmtBytes, fmtRss, fmtS } from './format.mjs';
import { targetText } from './judge.mjs';
import { OUT_DIR } from './paths.mjs';

export function table(results) {
  const rows = [
    '| id | scenario | Pareco s | rsync s | ratio | target | Pareco bytes | rsync bytes | client RSS | server RSS | met? |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    rows.push(`| ${r.id} | ${r.title} | ${fmtS(r.pareco.medianMs)} | ${fmtS(r.rsync.medianMs)} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} | ${targetText(r.target)} | ${fmtBytes(r.pareco.bytes)} | ${fmtBytes(r.rsync.bytes)} | ${fmtRss(r.pareco.clientRssKiB)} | ${fmtRss(r.server.vmHwmKiB)} | ${r.ok ? r.met.text : '**FAILED**'} |`);
  }
  return rows.join('\n');
}

function details(results, cfg) {
  const out = [];
  for (const r of results) {
    out.push(`### ${r.id}: ${r.title}`, '');
    out.push(`- Pareco: \`pareco -m ${r.direction}${r.parecoArgs.length ? ` ${r.parecoArgs.join(' ')}` : ''} --json --log-level quiet\`; rsync: \`rsync ${r.rsyncArgs.join(' ')} --stats\`${r.wan ? `; both through the WAN emulator (${cfg.delayMs} ms each way, window ${fmtBytes(cfg.window)})` : ''}`);
    if (r.editedBytes) out.push(`- bytes edited in the source: ${fmtBytes(r.editedBytes)}`);
    if (r.error) out.push(`- **FAILED**: ${r.error.replace(/\n/g, ' ')}`);
    for (const n of r.notes) out.push(`- note: ${n}`);
    const runs = Math.max(r.pareco.runs.length, r.rsync.runs.length);
    if (runs) {
      out.push('', '| run | Pareco s (own durationMs) | Pareco bytes | Pareco wire ↑/↓ | client RSS | rsync s | rsync sent / received | rsync literal | rsync wire ↑/↓ | rsync RSS |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (let i = 0; i < runs; i++) {
        const p = r.pareco.runs[i];
        const q = r.rsync.runs[i];
        const wire = (w) => (w ? `${fmtBytes(w.up)} / ${fmtBytes(w.down)}` : '–');
        out.push(`| ${i + 1} | ${p ? `${fmtS(p.wallMs)} (${fmtS(p.durationMs)})` : '–'} | ${p ? fmtBytes(p.bytes) : '–'} | ${wire(p?.wire)} | ${p ? fmtRss(p.rssKiB) : '–'} | ${q ? fmtS(q.wallMs) : '–'} | ${q ? `${fmtBytes(q.sent)} / ${fmtBytes(q.received)}` : '–'} | ${q ? fmtBytes(q.literal) : '–'} | ${wire(q?.wire)} | ${q ? fmtRss(q.rssKiB) : '–'} |`);
      }
    }
    out.push('', `Server peak RSS (VmHWM): ${fmtRss(r.server.vmHwmKiB)}. Scenario wall time incl. data preparation and checks: ${fmtS(r.totalMs)} s.`, '');
  }
  return out.join('\n');
}

function markdown({ date, argv, cfg, machine, totalS, results, tbl }) {
  const failed = results.filter((r) => !r.ok);
  return [
    '# Pareco vs rsync benchmark',
    '',
    `${date} — \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (${cfg.mode} mode, ${cfg.reps} runs of each tool per scenario, alternating; total ${totalS.toFixed(0)} s)`,
    '',
    '## Machine',
    '',
    `- nproc: ${machine.nproc}`,
    `- CPU: ${machine.cpu}`,
    `- node: ${machine.node}`,
    `- rsync: ${machine.rsync}`,
    `- kernel: ${machine.kernel}, RAM ${machine.memTotalGiB} GiB`,
    `- pareco: ${machine.pareco}${machine.parecoHasBlockOption ? ' (has --block, left at its default)' : ''}`,
    `- data directory: ${machine.dataDir}; peak RSS via ${machine.rssProbe}`,
    `- load average (1/5/15 min) at start: ${machine.loadAvgAtStart.join(' ')}, at end: ${machine.loadAvgAtEnd.join(' ')}${machine.loadAvgAtStart[0] > 0.5 ? ' — other processes were busy, expect noise' : ''}`,
    '',
    '## Results',
    '',
    'Times are medians of wall-clock times (process start to exit) with a warm page cache; ratio = Pareco / rsync. ' +
      'Pareco bytes = `bytesTransferred` of the JSON summary (chunk payload); rsync bytes = total bytes sent by the data sender ' +
      '(`--stats` "Total bytes sent" for uploads, "Total bytes received" for downloads). RSS: Pareco client peak over all runs, server VmHWM per scenario.',
    '',
    tbl,
    '',
    failed.length ? `**${failed.length} scenario(s) FAILED:** ${failed.map((r) => `${r.id} (${r.error.split('\n')[0]})`).join('; ')}\n` : '',
    '## Details',
    '',
    details(results, cfg),
  ].join('\n');
}

/** Writes bench/out/results.json and bench/out/RESULTS.md; returns the table and both paths. */
export function writeReport({ argv, cfg, config, machine, totalS, results }) {
  const date = new Date().toISOString();
  const tbl = table(results);
  const jsonFile = path.join(OUT_DIR, 'results.json');
  const mdFile = path.join(OUT_DIR, 'RESULTS.md');
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(jsonFile, JSON.stringify({ date, machine, config, totalSeconds: +totalS.toFixed(1), results }, null, 2) + '\n');
  fs.writeFileSync(mdFile, markdown({ date, argv, cfg, machine, totalS, results, tbl }));
  return { tbl, jsonFile, mdFile };
}
