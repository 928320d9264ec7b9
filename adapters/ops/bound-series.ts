/**
 * Counter and histogram families for the metrics the core touches on every event. A prom-client child still
 * validates and hashes its label object on every call, and a histogram turns the bucket bound into a
 * property name twice per observation: several hundred nanoseconds per call, several calls per event. Here
 * a series is bound once (`child`) and a call is an increment on it. The families register in a prom-client
 * Registry and hand it the same value records prom-client's Counter and Histogram do, in the same order
 * (series in order of creation), so the exposition text is byte-for-byte what prom-client would print.
 */
import type { Metric, Registry } from 'prom-client';

export interface FamilyConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: readonly Registry[];
}

type LabelSet = Record<string, string>;

/** What prom-client's Registry reads from a metric when it prints or aggregates. */
interface MetricRecord<V> {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: V[];
  aggregator: 'sum';
}

interface CounterValue {
  value: number;
  labels: LabelSet;
}

interface HistogramValue {
  labels: Record<string, string | number>;
  sharedLabels: LabelSet;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

export class CounterSeries {
  readonly labels: LabelSet;
  value: number;

  constructor(labels: LabelSet) {
    this.labels = labels;
    this.value = 0;
  }

  inc(): void {
    this.value += 1;
  }
}

export class HistogramSeries {
  readonly labels: LabelSet;
  /** Observations per bucket (not cumulative); the ones above the last bound are only in `count`. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  private readonly bounds: readonly number[];

  constructor(labels: LabelSet, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
    this.sum = 0;
    this.count = 0;
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i += 1;
    if (i < bounds.length) this.counts[i] += 1;
    this.sum += value;
    this.count += 1;
  }
}

/** Series by label values; a series is exposed (at 0) from its creation on, as after prom-client's inc(0)/zero(). */
abstract class Family<L extends string, S extends { labels: LabelSet }> {
  /** Not readonly: prom-client's Registry strips `_total` from counter names when it prints OpenMetrics. */
  name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = 'sum';
  private readonly series: Map<string, S>;

  constructor(config: FamilyConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.series = new Map();
    // The Registry duck-types its metrics: it calls get()/getForPromString() and reset().
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, created at zero on first use. */
  child(labels: Record<L, string>): S {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    let series = this.series.get(key);
    if (series === undefined) {
      // Label order as declared, as prom-client's labels(...) builds them: the exposition prints this order.
      const ordered: LabelSet = {};
      for (const name of this.labelNames) ordered[name] = labels[name];
      series = this.create(ordered);
      this.series.set(key, series);
    }
    return series;
  }

  protected all(): IterableIterator<S> {
    return this.series.values();
  }

  protected abstract create(labels: LabelSet): S;
}

export class CounterFamily<L extends string> extends Family<L, CounterSeries> {
  readonly type = 'counter';

  get(): Promise<MetricRecord<CounterValue>> {
    const values: CounterValue[] = [];
    for (const { value, labels } of this.all()) values.push({ value, labels });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  /** Zeroes every series; the series stay bound to their holders. */
  reset(): void {
    for (const series of this.all()) series.value = 0;
  }

  protected create(labels: LabelSet): CounterSeries {
    return new CounterSeries(labels);
  }
}

export class HistogramFamily<L extends string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];

  constructor(config: FamilyConfig<L> & { buckets: readonly number[] }) {
    super(config);
    this.upperBounds = Object.freeze([...config.buckets]);
  }

  /** The records prom-client's Histogram prints: per series its cumulative buckets, +Inf, sum, count. */
  getForPromString(): Promise<MetricRecord<HistogramValue>> {
    const bucket = `${this.name}_bucket`;
    const values: HistogramValue[] = [];
    for (const series of this.all()) {
      const shared = series.labels;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({
          labels: { le },
          sharedLabels: shared,
          value: cumulative,
          metricName: bucket,
          exemplar: null,
        });
      });
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: shared,
          value: series.count,
          metricName: bucket,
          exemplar: null,
        },
        {
          labels: {},
          sharedLabels: shared,
          value: series.sum,
          metricName: `${this.name}_sum`,
          exemplar: undefined,
        },
        {
          labels: {},
          sharedLabels: shared,
          value: series.count,
          metricName: `${this.name}_count`,
          exemplar: undefined,
        },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  /** As prom-client's get(): each record's own labels (le) with its series' labels merged in. */
  async get(): Promise<MetricRecord<Omit<HistogramValue, 'sharedLabels'>>> {
    const record = await this.getForPromString();
    const values = record.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return { ...record, values };
  }

  /** Zeroes every series; the series stay bound to their holders. */
  reset(): void {
    for (const series of this.all()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  protected create(labels: LabelSet): HistogramSeries {
    return new HistogramSeries(labels, this.upperBounds);
  }
}
