// The report: the summary table (stdout and bench/out/RESULTS.md), per-run details, S's memory
// series, and bench/out/results.json with everything.

import fs from 'node:fs';
import path from 'node:path';

import { fmtBytes, fmtRss, fmtS } from './format.mjs';
import { targetText } from './judge.mjs';
import { OUT_DIR } from './paths.mjs';
import { maxOf, median } from './stats.mjs';

const ratioText = (r) => (r === null || r === undefined ? '–' : r.toFixed(2));
const wireText = (w) => (w ? `${fmtBytes(w.up)} / ${fmtBytes(w.down)}` : '–');

export function table(results) {
  const rows = [
    '| id | scenario | Pareco s | rsync s | ratio | target | Pareco bytes | rsync bytes | client RSS | server RSS | met? |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    rows.push(`| ${r.id} | ${r.title} | ${fmtS(r.pareco.medianMs)} | ${fmtS(r.rsync.medianMs)} | ${ratioText(r.ratio)} | ${targetText(r.target)} | ${fmtBytes(r.pareco.bytes)} | ${fmtBytes(r.rsync.bytes)} | ${fmtRss(r.pareco.clientRssKiB)} | ${fmtRss(r.server.vmHwmKiB)} | ${r.ok || r.skipped ? r.met.text : '**FAILED**'} |`);
  }
  return rows.join('\n');
}

function commandLine(r, cfg) {
  const pareco = (args) => `\`pareco -m ${r.direction}${args.length ? ` ${args.join(' ')}` : ''} --json --log-level quiet\``;
  const base = r.baseline ? `baseline (${r.baseline.label}): ${pareco(r.baseline.parecoArgs)}` : `rsync: \`rsync ${r.rsyncArgs.join(' ')} --stats\``;
  const link = r.wan ? `; both through the WAN emulator (${cfg.delayMs} ms each way, window ${fmtBytes(cfg.window)}${r.wanRate ? `, all connections of a tool together capped at ${fmtBytes(r.wanRate)}/s per direction` : ''})` : '';
  return `- Pareco: ${pareco(r.parecoArgs)}; ${base}${link}`;
}

/** The per-run table; with a Pareco baseline its columns are Pareco's on both sides. */
function runsTable(r) {
  const out = [];
  const runs = Math.max(r.pareco.runs.length, r.rsync.runs.length);
  if (!runs) return out;
  if (r.baseline) {
    out.push('', `| run | Pareco s (own durationMs) | Pareco bytes | Pareco wire ↑/↓ | client RSS | ${r.baseline.label} s (own) | bytes | wire ↑/↓ | client RSS |`, '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    const cells = (p) => (p ? `${fmtS(p.wallMs)} (${fmtS(p.durationMs)}) | ${fmtBytes(p.bytes)} | ${wireText(p.wire)} | ${fmtRss(p.rssKiB)}` : '– | – | – | –');
    for (let i = 0; i < runs; i++) out.push(`| ${i + 1} | ${cells(r.pareco.runs[i])} | ${cells(r.rsync.runs[i])} |`);
    return out;
  }
  out.push('', '| run | Pareco s (own durationMs) | Pareco bytes | Pareco wire ↑/↓ | client RSS | rsync s | rsync sent / received | rsync literal | rsync wire ↑/↓ | rsync RSS |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let i = 0; i < runs; i++) {
    const p = r.pareco.runs[i];
    const q = r.rsync.runs[i];
    out.push(`| ${i + 1} | ${p ? `${fmtS(p.wallMs)} (${fmtS(p.durationMs)})` : '–'} | ${p ? fmtBytes(p.bytes) : '–'} | ${wireText(p?.wire)} | ${p ? fmtRss(p.rssKiB) : '–'} | ${q ? fmtS(q.wallMs) : '–'} | ${q ? `${fmtBytes(q.sent)} / ${fmtBytes(q.received)}` : '–'} | ${q ? fmtBytes(q.literal) : '–'} | ${wireText(q?.wire)} | ${q ? fmtRss(q.rssKiB) : '–'} |`);
  }
  return out;
}

function wireShare(r, runs) {
  const wire = maxOf(runs.map((x) => (r.direction === 'upload' ? x.wire?.up : x.wire?.down)));
  return wire === null ? '–' : `${fmtBytes(wire)} = ${(wire / r.fileBytes).toFixed(2)} ×`;
}

const ioText = (io) => (io ? `${fmtBytes(io.rchar)} / ${fmtBytes(io.readBytes)}` : undefined);
/** Figures only some scenarios or builds have; a column appears when any run has it. */
const EXTRAS = [
  ['pass 1 s', (x) => (x.pass1 ? `${fmtS(x.pass1.wallMs)}${x.pass1.problem ? ' (see note)' : ''}` : undefined)],
  ['pgbench tps in pass 1', (x) => (x.pass1?.pgbenchTps ? x.pass1.pgbenchTps.toFixed(0) : undefined)],
  ['copy checked', (x) => x.dbCheck],
  ['first data s', (x) => (x.firstDataMs !== undefined ? fmtS(x.firstDataMs) : undefined)],
  ['bytesWire', (x) => (x.bytesWire !== undefined ? fmtBytes(x.bytesWire) : undefined)],
  ['from cache (files / bytes)', (x) => (x.filesFromCache !== undefined || x.bytesFromCache !== undefined ? `${x.filesFromCache ?? '–'} / ${fmtBytes(x.bytesFromCache)}` : undefined)],
  ['client read: rchar / read_bytes', (x) => ioText(x.io)],
  ['server read: rchar / read_bytes', (x) => ioText(x.serverIo)],
];

function extrasTable(r) {
  const rows = [];
  const sides = [[r.pareco.runs, 'Pareco'], [r.rsync.runs, r.baseline?.label ?? 'rsync']];
  const cols = EXTRAS.filter(([, f]) => sides.some(([runs]) => runs.some((x) => f(x) !== undefined)));
  if (!cols.length) return rows;
  rows.push('', `| run | tool | ${cols.map(([h]) => h).join(' | ')} |`, `|---|---|${cols.map(() => '---:').join('|')}|`);
  const n = Math.max(r.pareco.runs.length, r.rsync.runs.length);
  for (let i = 0; i < n; i++) {
    for (const [runs, label] of sides) {
      const cells = runs[i] ? cols.map(([, f]) => f(runs[i])) : [];
      if (cells.some((c) => c !== undefined)) rows.push(`| ${i + 1} | ${label} | ${cells.map((c) => c ?? '–').join(' | ')} |`);
    }
  }
  return rows;
}

function details(results, cfg) {
  const out = [];
  for (const r of results) {
    out.push(`### ${r.id}: ${r.title}`, '');
    if (r.skipped) {
      out.push(`- skipped: ${r.skipped}`, '');
      continue;
    }
    out.push(commandLine(r, cfg));
    if (r.editedBytes) out.push(`- bytes edited in the source: ${fmtBytes(r.editedBytes)}`);
    if (r.fileBytes) out.push(`- source file bytes: ${fmtBytes(r.fileBytes)}`);
    if (r.target.wireFraction !== undefined && r.fileBytes) out.push(`- wire bytes in the data direction / file bytes, largest run: ${wireShare(r, r.pareco.runs)} Pareco (target ≤ ${r.target.wireFraction}), ${wireShare(r, r.rsync.runs)} ${r.baseline?.label ?? 'rsync'}`);
    if (r.missing) out.push(`- option missing in this build: ${r.missing.join(', ')} (the scenario ran without it)`);
    if (r.warmup) out.push(`- untimed warm-up run of Pareco first (fills the digest cache): ${fmtS(r.warmup.wallMs)} s`);
    if (r.error) out.push(`- **FAILED**: ${r.error.replace(/\n/g, ' ')}`);
    for (const n of r.notes) out.push(`- note: ${n}`);
    for (const [runs, label] of [[r.pareco.runs, 'Pareco'], [r.rsync.runs, r.baseline?.label ?? 'rsync']]) {
      if (runs.some((x) => x.pass1)) out.push(`- ${label}: pass 1 (live source) median ${fmtS(median(runs.map((x) => x.pass1?.wallMs)))} s, pass 2 (timed) median ${fmtS(median(runs.map((x) => x.wallMs)))} s`);
      for (const [i, x] of runs.entries()) {
        const problem = x.pass1?.problem ?? x.problem;
        if (problem) out.push(`- note: ${label} run ${i + 1}${x.pass1 ? ', pass 1' : ''}: ${problem.replace(/\n/g, ' ').slice(0, 400)}`);
      }
    }
    out.push(...runsTable(r), ...extrasTable(r));
    out.push('', `Server peak RSS (VmHWM): ${fmtRss(r.server.vmHwmKiB)}. Scenario wall time incl. data preparation and checks: ${fmtS(r.totalMs)} s.`, '');
  }
  return out.join('\n');
}

/** S's peak RSS per size, side by side, so that "flat from 10,000 to 1,000,000" can be read off. */
export function scaleSeries(results) {
  const s = results.filter((r) => r.scale && r.ok);
  if (!s.length) return '';
  const sizes = [...new Set(s.map((r) => r.scale.files))].sort((a, b) => a - b);
  const kinds = [['S-fresh', 'fresh'], ['S-skip', 'no change --skip-digest'], ['S-digest', 'no change, digests']];
  const cell = (files, prefix, f) => {
    const r = s.find((x) => x.scale.files === files && x.id.startsWith(`${prefix}-`));
    return r ? f(r) : '–';
  };
  const rows = [
    `| files | ${kinds.map(([, k]) => `${k}: client / server RSS`).join(' | ')} | rsync RSS (max) | first data: Pareco / rsync |`,
    `|---:|${kinds.map(() => '---:').join('|')}|---:|---:|`,
  ];
  for (const files of sizes) {
    const rss = kinds.map(([p]) => cell(files, p, (r) => `${fmtRss(r.pareco.clientRssKiB)} / ${fmtRss(r.server.vmHwmKiB)}`));
    const rsyncRss = Math.max(...s.filter((r) => r.scale.files === files).map((r) => r.rsync.rssKiB ?? 0));
    const first = cell(files, 'S-fresh', (r) => `${fmtS(median(r.pareco.runs.map((x) => x.firstDataMs)))} / ${fmtS(median(r.rsync.runs.map((x) => x.firstDataMs)))} s`);
    rows.push(`| ${files.toLocaleString('en')} | ${rss.join(' | ')} | ${fmtRss(rsyncRss || null)} | ${first} |`);
  }
  return rows.join('\n');
}

function markdown({ date, argv, cfg, machine, totalS, results, tbl }) {
  const failed = results.filter((r) => !r.ok && !r.skipped);
  const series = scaleSeries(results);
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
    ...(machine.parecoOptions ? [`- options of this round: ${machine.parecoOptions}`] : []),
    `- data directory: ${machine.dataDir}; peak RSS via ${machine.rssProbe}`,
    `- load average (1/5/15 min) at start: ${machine.loadAvgAtStart.join(' ')}, at end: ${machine.loadAvgAtEnd.join(' ')}${machine.loadAvgAtStart[0] > 0.5 ? ' — other processes were busy, expect noise' : ''}`,
    '',
    '## Results',
    '',
    'Times are medians of wall-clock times (process start to exit) with a warm page cache; ratio = Pareco / rsync. ' +
      'Pareco bytes = `bytesTransferred` of the JSON summary (chunk payload); rsync bytes = total bytes sent by the data sender ' +
      '(`--stats` "Total bytes sent" for uploads, "Total bytes received" for downloads). RSS: Pareco client peak over all runs, server VmHWM per scenario.' +
      (results.some((r) => r.baseline) ? ' In O-* and Z-random both sides are Pareco: the rsync columns hold the baseline named in the title (ratio = Pareco / that baseline).' : '') +
      (results.some((r) => r.id === 'M') ? ' M: times are pass 2 (after the database stopped); pass 1 is in the details.' : ''),
    '',
    tbl,
    '',
    failed.length ? `**${failed.length} scenario(s) FAILED:** ${failed.map((r) => `${r.id} (${r.error.split('\n')[0]})`).join('; ')}\n` : '',
    ...(series ? ['## S: peak RSS by number of files', '', series, ''] : []),
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
  return { tbl, series: scaleSeries(results), jsonFile, mdFile };
}
