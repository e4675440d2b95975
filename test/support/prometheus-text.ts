/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it
 * throws, naming the line, on anything a Prometheus server would refuse or that breaks the
 * format's rules — a malformed line, a bad name, label or value, a family whose samples are not
 * together, TYPE or HELP twice or after the samples, a sample that does not belong to its
 * family's type, a duplicate series, a negative counter, histogram buckets that are not
 * cumulative or lack +Inf, a missing final newline.
 * (prom-client writes the format but ships no parser.)
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses an exposition; families by name, in order of appearance. */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  /** Families whose samples are over (another family's line came after them). */
  const closed = new Set<string>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  lines.pop();

  const familyFor = (name: string, line: number): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    if (current !== family) {
      if (closed.has(name)) throw new Error(`line ${line}: the lines of ${name} are not together`);
      if (current !== undefined) closed.add(current.name);
      current = family;
    }
    return family;
  };

  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (meta === null) return; // an ordinary comment
      const [, keyword, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${JSON.stringify(name)}`);
      const family = familyFor(name, line);
      if (keyword === 'TYPE') {
        if (rest === undefined || !TYPES.has(rest)) throw new Error(`line ${line}: bad type ${JSON.stringify(rest)} for ${name}`);
        if (family.samples.length > 0) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new Error(`line ${line}: a second TYPE for ${name}`);
        typed.add(name);
        family.type = rest as MetricType;
      } else {
        if (family.help !== undefined) throw new Error(`line ${line}: a second HELP for ${name}`);
        family.help = unescape(rest ?? '', false, line);
      }
      return;
    }
    const sample = parseSample(raw, line);
    const family = familyFor(familyName(sample.name, families, current), line);
    checkBelongs(family, sample, line);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: a second sample of ${key}`);
    series.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The family a sample name belongs to: itself, or for _bucket/_sum/_count the histogram or summary it ends. */
function familyName(name: string, families: Map<string, Family>, current: Family | undefined): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const family = families.get(base);
    if (family !== undefined && family === current && (family.type === 'histogram' || family.type === 'summary')) return base;
  }
  return name;
}

function checkBelongs(family: Family, sample: Sample, line: number): void {
  const suffix = sample.name.slice(family.name.length);
  switch (family.type) {
    case 'counter':
      if (sample.value < 0 || Number.isNaN(sample.value)) throw new Error(`line ${line}: counter ${sample.name} is ${sample.value}`);
      break;
    case 'histogram':
      if (suffix === '_bucket') {
        if (!('le' in sample.labels)) throw new Error(`line ${line}: bucket without le`);
        parseValue(sample.labels.le!, line);
      } else if (suffix !== '_sum' && suffix !== '_count') {
        throw new Error(`line ${line}: ${sample.name} in histogram ${family.name}`);
      }
      if (suffix !== '_bucket' && 'le' in sample.labels) throw new Error(`line ${line}: le on ${sample.name}`);
      break;
    case 'summary':
      if (suffix === '' ? !('quantile' in sample.labels) : suffix !== '_sum' && suffix !== '_count') {
        throw new Error(`line ${line}: ${sample.name} in summary ${family.name}`);
      }
      break;
    default:
      break;
  }
}

/** Buckets per label set: cumulative, ending with +Inf equal to _count. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith('_bucket')) group.buckets.push([parseValue(le!, 0), sample.value]);
    else if (sample.name.endsWith('_count')) group.count = sample.value;
    else group.sum = sample.value;
  }
  for (const [key, group] of groups) {
    const where = `histogram ${family.name}${key}`;
    if (group.count === undefined || group.sum === undefined) throw new Error(`${where}: no _count or _sum`);
    const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${where}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${where}: buckets are not cumulative`);
    }
    if (sorted.at(-1)![1] !== group.count) throw new Error(`${where}: +Inf bucket ${sorted.at(-1)![1]} is not _count ${group.count}`);
  }
}

function parseSample(raw: string, line: number): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw)?.[0];
  if (name === undefined) throw new Error(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
  let rest = raw.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.replace(/^[ \t]*/, '');
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"/.exec(rest);
      if (label === null) throw new Error(`line ${line}: bad label set in ${JSON.stringify(raw)}`);
      const [whole, key, value] = label as unknown as [string, string, string];
      if (!LABEL_NAME.test(key) || key.startsWith('__')) throw new Error(`line ${line}: bad label name ${key}`);
      if (key in labels) throw new Error(`line ${line}: label ${key} twice`);
      labels[key] = unescape(value, true, line);
      rest = rest.slice(whole.length).replace(/^[ \t]*/, '');
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`line ${line}: bad label set in ${JSON.stringify(raw)}`);
    }
  }
  const fields = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
  if (fields === null) throw new Error(`line ${line}: bad value or timestamp in ${JSON.stringify(raw)}`);
  return { name, labels, value: parseValue(fields[1]!, line) };
}

/** A number as Go's strconv.ParseFloat reads it (what Prometheus uses): NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  if (/^nan$/i.test(text)) return NaN;
  const infinite = /^([+-]?)inf(inity)?$/i.exec(text);
  if (infinite !== null) return infinite[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad number ${JSON.stringify(text)}`);
  return Number(text);
}

/** Label values escape \\, \" and \n; HELP text escapes \\ and \n. */
function unescape(text: string, quotes: boolean, line: number): string {
  return text.replace(/\\(.)/g, (_all, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`line ${line}: bad escape \\${c}`);
  });
}

/** The value of the one sample `name` whose labels include `labels`; throws if there is none or several. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const matches = [...families.values()]
    .flatMap((family) => family.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name}${JSON.stringify(labels)}`);
  return matches[0]!.value;
}
