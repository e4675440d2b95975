import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';

const VALID = `# HELP requests_total Requests "answered", by type.\\nSecond line with a \\\\ backslash.
# TYPE requests_total counter
requests_total{type="read",code="OK"} 3
requests_total{type="write",code="IO"} 0 1700000000000
# an ordinary comment
# TYPE temperature gauge
temperature -1.5e3
temperature{where="a \\"quoted\\" \\\\ path\\nwith a newline"} NaN
temperature{how="prom-client"} Nan
temperature{how="go"} -inf
# TYPE latency histogram
latency_bucket{le="0.1"} 1
latency_bucket{le="1"} 2
latency_bucket{le="+Inf"} 2
latency_sum 0.6
latency_count 2
# TYPE quantiles summary
quantiles{quantile="0.5"} 1
quantiles_sum 3
quantiles_count 4
`;

describe('parsePrometheusText', () => {
  test('reads families, types, help (unescaped), labels (unescaped), values and timestamps', () => {
    const families = parsePrometheusText(VALID);
    assert.deepEqual([...families.keys()], ['requests_total', 'temperature', 'latency', 'quantiles']);
    const requests = families.get('requests_total')!;
    assert.equal(requests.type, 'counter');
    assert.equal(requests.help, 'Requests "answered", by type.\nSecond line with a \\ backslash.');
    assert.deepEqual(requests.samples[0], { name: 'requests_total', labels: { type: 'read', code: 'OK' }, value: 3 });
    assert.equal(sampleValue(families, 'requests_total', { type: 'write' }), 0);
    assert.equal(families.get('temperature')!.samples[0]!.value, -1500);
    assert.ok(Number.isNaN(families.get('temperature')!.samples[1]!.value));
    assert.ok(Number.isNaN(sampleValue(families, 'temperature', { how: 'prom-client' })));
    assert.equal(sampleValue(families, 'temperature', { how: 'go' }), -Infinity);
    assert.equal(families.get('temperature')!.samples[1]!.labels.where, 'a "quoted" \\ path\nwith a newline');
    assert.equal(sampleValue(families, 'latency_bucket', { le: '+Inf' }), 2);
    assert.equal(families.get('quantiles')!.samples.length, 3);
  });

  for (const [what, text] of [
    ['no final newline', 'a 1'],
    ['a bad metric name', '0abc 1\n'],
    ['a bad value', 'a one\n'],
    ['a value Go does not read', 'a 0x\n'],
    ['a value with trailing junk', 'a 1 2 3\n'],
    ['an unterminated label set', 'a{b="c" 1\n'],
    ['a label without quotes', 'a{b=c} 1\n'],
    ['a reserved label name', 'a{__name__="x"} 1\n'],
    ['a label given twice', 'a{b="1",b="2"} 1\n'],
    ['a bad escape', 'a{b="\\t"} 1\n'],
    ['an unknown type', '# TYPE a thing\na 1\n'],
    ['TYPE after the samples', 'a 1\n# TYPE a gauge\n'],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['a second HELP', '# HELP a x\n# HELP a y\na 1\n'],
    ['a family whose lines are apart', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="y"} 2\n'],
    ['the same series twice', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['a foreign sample in a histogram', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\nh 1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['buckets that go down', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf other than _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['a summary sample without quantile', '# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n'],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parsePrometheusText(text), Error);
    });
  }

  test("parses prom-client's own output, every metric type, and finds each value", async () => {
    const registry = new Registry();
    const registers = [registry];
    new Counter({ name: 'c_total', help: 'a "counter" \\ with\nlines', labelNames: ['k'], registers }).inc({ k: 'v"\\\n' }, 5);
    new Gauge({ name: 'g', help: 'g', registers }).set(-2);
    const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], labelNames: ['t'], registers });
    h.observe({ t: 'a' }, 0.05);
    h.observe({ t: 'a' }, 5);
    new Summary({ name: 's', help: 's', percentiles: [0.5], registers }).observe(3);
    const families = parsePrometheusText(await registry.metrics());
    assert.equal(families.get('c_total')!.help, 'a "counter" \\ with\nlines');
    assert.equal(sampleValue(families, 'c_total', { k: 'v"\\\n' }), 5);
    assert.equal(sampleValue(families, 'g'), -2);
    assert.equal(families.get('h_seconds')!.type, 'histogram');
    assert.equal(sampleValue(families, 'h_seconds_bucket', { t: 'a', le: '0.1' }), 1);
    assert.equal(sampleValue(families, 'h_seconds_count', { t: 'a' }), 2);
    assert.equal(sampleValue(families, 's', { quantile: '0.5' }), 3);
  });
});
