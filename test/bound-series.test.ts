/**
 * The bound counter and histogram families print exactly what prom-client's Counter and Histogram print
 * for the same calls: series order, label order, cumulative buckets, +Inf, float sums, and the JSON form
 * the snapshot reads.
 */
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../adapters/ops/bound-series.js';

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.3, 1];
const STAGES = ['decode', 'queue', 'inference', 'publish'];

/** Deterministic values: below, on and between the bounds, and above the last one. */
function values(count: number): number[] {
  const out: number[] = [];
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const pick = x % 4;
    if (pick === 0) out.push(BUCKETS[x % BUCKETS.length]!);
    else if (pick === 1) out.push(0);
    else out.push((x / 2147483648) * (pick === 2 ? 0.02 : 3));
  }
  return out;
}

t.test('same exposition and JSON as prom-client for the same calls', async (t) => {
  const reference = new Registry();
  const refCounter = new Counter({
    name: 'x_decided_total',
    help: 'Decisions.',
    labelNames: ['pipeline', 'source', 'reason'],
    registers: [reference],
  });
  const refHistogram = new Histogram({
    name: 'x_stage_seconds',
    help: 'Stage "time", seconds\\n.',
    labelNames: ['pipeline', 'stage'],
    buckets: BUCKETS,
    registers: [reference],
  });
  const bound = new Registry();
  const counter = new CounterFamily({
    name: 'x_decided_total',
    help: 'Decisions.',
    labelNames: ['pipeline', 'source', 'reason'],
    registers: [bound],
  });
  const histogram = new HistogramFamily({
    name: 'x_stage_seconds',
    help: 'Stage "time", seconds\\n.',
    labelNames: ['pipeline', 'stage'],
    buckets: BUCKETS,
    registers: [bound],
  });

  for (const pipeline of ['b-pipe', 'a "quoted"\\pipe']) {
    refCounter.labels(pipeline, 'model', 'ok').inc(0);
    counter.child({ pipeline, source: 'model', reason: 'ok' });
    for (const stage of STAGES) {
      refHistogram.zero({ pipeline, stage });
      histogram.child({ pipeline, stage });
    }
  }
  const series = values(5_000);
  series.forEach((value, i) => {
    const pipeline = i % 3 === 0 ? 'b-pipe' : 'a "quoted"\\pipe';
    const stage = STAGES[i % STAGES.length]!;
    refHistogram.labels(pipeline, stage).observe(value);
    histogram.child({ pipeline, stage }).observe(value);
    // A series created later (by its first increment) comes after the ones created at start.
    const reason = i % 7 === 0 ? 'deadline' : 'ok';
    const source = reason === 'ok' ? 'model' : 'fallback';
    refCounter.labels(pipeline, source, reason).inc();
    // Labels given in another order still print in the declared order.
    counter.child({ reason, source, pipeline }).inc();
  });
  // A series created but never observed prints all zeros.
  refHistogram.zero({ pipeline: 'c', stage: 'decode' });
  histogram.child({ stage: 'decode', pipeline: 'c' });

  const text = await bound.metrics();
  t.equal(text, await reference.metrics(), 'byte-identical exposition');
  t.match(text, /x_stage_seconds_bucket\{le="\+Inf",pipeline="b-pipe",stage="decode"\} \d+/);
  t.same(await bound.getMetricsAsJSON(), await reference.getMetricsAsJSON(), 'same JSON');
});

t.test('non-finite observations are refused; reset zeroes but keeps the bound series', async (t) => {
  const registry = new Registry();
  const histogram = new HistogramFamily({
    name: 'h_seconds',
    help: 'h',
    labelNames: ['pipeline'],
    buckets: [0.1, 1],
    registers: [registry],
  });
  const counter = new CounterFamily({
    name: 'c_total',
    help: 'c',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const h = histogram.child({ pipeline: 'p' });
  const c = counter.child({ pipeline: 'p' });
  t.throws(() => h.observe(Number.NaN), TypeError);
  t.throws(() => h.observe(Number.POSITIVE_INFINITY), TypeError);
  h.observe(0.5);
  c.inc();
  t.match(await registry.metrics(), /h_seconds_count\{pipeline="p"\} 1\n/);
  registry.resetMetrics();
  h.observe(0.05);
  const text = await registry.metrics();
  t.match(text, /h_seconds_bucket\{le="0\.1",pipeline="p"\} 1\n/);
  t.match(text, /h_seconds_sum\{pipeline="p"\} 0\.05\n/);
  t.match(text, /c_total\{pipeline="p"\} 0\n/);
});
