/**
 * The GatewayMetrics port on a prom-client registry. The core calls it per event, so label children are
 * created once per pipeline and reused. Values that are a state rather than a count (queue depth, MQTT
 * connection, readiness, memory, event-loop lag) are read from callbacks when scraped. Every metric and its
 * labels: docs/metrics.md.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionStage, GatewayMetrics } from '../../daemon/ports.js';

/** What the registry reads at scrape time. */
export interface MetricsSources {
  /** Per model: events waiting and runs in flight. */
  queues(): ReadonlyMap<string, { queued: number; inflight: number }>;
  mqttConnected(): boolean;
  /** Inbound events held back so far because the broker was not reading our publishes. */
  mqttIntakeHolds(): number;
  /** Broker connected, models loaded, not draining. */
  ready(): boolean;
}

export interface MetricsRegistryDeps {
  /** Configured pipeline names: their series exist (at 0) before the first event. */
  pipelines: readonly string[];
  models: readonly string[];
  sources: MetricsSources;
  version: string;
}

/** The numbers behind the periodic stats message. */
export interface MetricsSnapshot {
  uptimeSec: number;
  ready: boolean;
  mqtt: { connected: boolean; reconnects: number };
  pipelines: Record<
    string,
    {
      received: number;
      decided: Record<string, number>;
      deadlineMisses: number;
      meanLatencyMs: number | null;
    }
  >;
  models: Record<string, { queued: number; inflight: number; loadMs: number | null }>;
  process: { rssBytes: number; eventLoopLagP99Ms: number };
}

export interface MetricsRegistry extends GatewayMetrics {
  /** A connect after the first one. */
  mqttReconnected(): void;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  readonly contentType: string;
  snapshot(): Promise<MetricsSnapshot>;
  /** Starts the event-loop delay monitor. */
  start(): void;
  /** Stops the monitor and its window timer. Idempotent. */
  stop(): void;
}

/** End-to-end buckets around the 150–300 ms budgets, seconds. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5,
];
/** Stage buckets reach down to the sub-millisecond decode and queue times, seconds. */
const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.3, 1];
const STAGES: readonly DecisionStage[] = ['decode', 'queue', 'inference', 'publish'];
/** (source, reason) pairs the core produces; their series exist from the start. */
const OUTCOMES: readonly [string, string][] = [
  ['model', 'ok'],
  ['fallback', 'deadline'],
  ['fallback', 'overload'],
  ['fallback', 'model_error'],
  ['fallback', 'invalid_input'],
  ['fallback', 'expired'],
];
/** Label children for names outside the config are capped, so a bug cannot grow the registry unbounded. */
const MAX_DYNAMIC_CHILDREN = 256;
/** Event-loop lag is reported over the last completed window of this length, ms. */
const LAG_WINDOW_MS = 10_000;
/** monitorEventLoopDelay sampling resolution, ms. */
const LAG_RESOLUTION_MS = 10;

interface PipelineSeries {
  received: Counter.Internal;
  decided: Map<string, Counter.Internal>;
  deadlineMisses: Counter.Internal;
  redeliveries: Counter.Internal;
  latency: Histogram.Internal<string>;
  stages: Record<DecisionStage, Histogram.Internal<string>>;
}

interface LagWindow {
  p50: number;
  p99: number;
  max: number;
}

export function createMetricsRegistry(deps: MetricsRegistryDeps): MetricsRegistry {
  const registry = new Registry();
  const lag = new LagMonitor();
  const metrics = defineMetrics(registry, deps, lag);
  const instance = new PromMetricsRegistry(deps.sources, registry, metrics, lag);
  for (const pipeline of deps.pipelines) instance.prepare(pipeline);
  for (const model of deps.models) metrics.lateResults.inc({ model }, 0);
  for (const result of ['restarted', 'retry']) metrics.walRestarts.inc({ result }, 0);
  return instance;
}

interface Metrics {
  received: Counter<'pipeline'>;
  decided: Counter<'pipeline' | 'source' | 'reason'>;
  deadlineMisses: Counter<'pipeline'>;
  redeliveries: Counter<'pipeline'>;
  latency: Histogram<'pipeline'>;
  stageLatencies: Histogram<'pipeline' | 'stage'>;
  deadLetters: Counter<'code'>;
  lateResults: Counter<'model'>;
  loadSeconds: Gauge<'model'>;
  reconnects: Counter;
  walRestarts: Counter<'result'>;
  writeHolds: Histogram;
}

class PromMetricsRegistry implements MetricsRegistry {
  private readonly sources: MetricsSources;
  private readonly registry: Registry;
  private readonly m: Metrics;
  private readonly lag: LagMonitor;
  private readonly startedAt: number;
  private readonly series: Map<string, PipelineSeries>;

  constructor(sources: MetricsSources, registry: Registry, metrics: Metrics, lag: LagMonitor) {
    this.sources = sources;
    this.registry = registry;
    this.m = metrics;
    this.lag = lag;
    this.startedAt = Date.now();
    this.series = new Map();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ------------------------------------------------------------------ GatewayMetrics (hot path)

  eventReceived(pipeline: string): void {
    this.prepare(pipeline)?.received.inc();
  }

  eventDecided(pipeline: string, source: string, reason: string, latencyMs: number): void {
    const series = this.prepare(pipeline);
    if (series === undefined) return;
    const key = `${source}/${reason}`;
    let counter = series.decided.get(key);
    if (counter === undefined && series.decided.size < MAX_DYNAMIC_CHILDREN) {
      counter = this.m.decided.labels(pipeline, source, reason);
      series.decided.set(key, counter);
    }
    counter?.inc();
    if (reason === 'deadline') series.deadlineMisses.inc();
    if (Number.isFinite(latencyMs) && latencyMs >= 0) series.latency.observe(latencyMs / 1000);
  }

  stageLatency(pipeline: string, stage: DecisionStage, ms: number): void {
    const histogram = this.prepare(pipeline)?.stages[stage];
    if (histogram !== undefined && Number.isFinite(ms) && ms >= 0) histogram.observe(ms / 1000);
  }

  deadLetter(code: string): void {
    this.m.deadLetters.inc({ code });
  }

  redelivery(pipeline: string): void {
    this.prepare(pipeline)?.redeliveries.inc();
  }

  lateModelResult(model: string): void {
    this.m.lateResults.inc({ model });
  }

  modelLoaded(model: string, loadMs: number): void {
    if (Number.isFinite(loadMs)) this.m.loadSeconds.set({ model }, loadMs / 1000);
  }

  walRestart(heldMs: number, restarted: boolean): void {
    this.m.walRestarts.inc({ result: restarted ? 'restarted' : 'retry' });
    if (Number.isFinite(heldMs) && heldMs >= 0) this.m.writeHolds.observe(heldMs / 1000);
  }

  // ------------------------------------------------------------------ connection events

  mqttReconnected(): void {
    this.m.reconnects.inc();
  }

  // ------------------------------------------------------------------ reading

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  async snapshot(): Promise<MetricsSnapshot> {
    const received = await sumBy(this.m.received, 'pipeline');
    const misses = await sumBy(this.m.deadlineMisses, 'pipeline');
    const loads = await sumBy(this.m.loadSeconds, 'model');
    const decided = (await this.m.decided.get()).values;
    const latency = (await this.m.latency.get()).values;
    const pipelines: MetricsSnapshot['pipelines'] = {};
    for (const name of this.series.keys()) {
      const reasons: Record<string, number> = {};
      for (const { labels, value } of decided) {
        if (labels.pipeline === name && value > 0) {
          const reason = String(labels.reason);
          reasons[reason] = (reasons[reason] ?? 0) + value;
        }
      }
      const sum = latency.find((v) => v.metricName?.endsWith('_sum') && v.labels.pipeline === name);
      const count = latency.find((v) => v.metricName?.endsWith('_count') && v.labels.pipeline === name);
      pipelines[name] = {
        received: received.get(name) ?? 0,
        decided: reasons,
        deadlineMisses: misses.get(name) ?? 0,
        meanLatencyMs:
          sum !== undefined && count !== undefined && count.value > 0
            ? round((sum.value / count.value) * 1000)
            : null,
      };
    }
    const models: MetricsSnapshot['models'] = {};
    const queues = this.sources.queues();
    for (const name of new Set([...queues.keys(), ...loads.keys()])) {
      const lane = queues.get(name);
      const load = loads.get(name);
      models[name] = {
        queued: lane?.queued ?? 0,
        inflight: lane?.inflight ?? 0,
        loadMs: load === undefined ? null : round(load * 1000),
      };
    }
    return {
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      ready: this.sources.ready(),
      mqtt: {
        connected: this.sources.mqttConnected(),
        reconnects: (await this.m.reconnects.get()).values[0]?.value ?? 0,
      },
      pipelines,
      models,
      process: {
        rssBytes: process.memoryUsage.rss(),
        eventLoopLagP99Ms: round(this.lag.current().p99 * 1000),
      },
    };
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    this.lag.start();
  }

  stop(): void {
    this.lag.stop();
  }

  /** The label children of one pipeline, created on first use (bounded). */
  prepare(pipeline: string): PipelineSeries | undefined {
    const known = this.series.get(pipeline);
    if (known !== undefined || this.series.size >= MAX_DYNAMIC_CHILDREN) return known;
    const stages = {} as Record<DecisionStage, Histogram.Internal<string>>;
    for (const stage of STAGES) stages[stage] = this.m.stageLatencies.labels(pipeline, stage);
    const decided = new Map<string, Counter.Internal>();
    for (const [source, reason] of OUTCOMES) {
      const child = this.m.decided.labels(pipeline, source, reason);
      // inc(0) makes the series appear (at 0) before the first such decision, so rate() works from the start.
      child.inc(0);
      decided.set(`${source}/${reason}`, child);
    }
    const series: PipelineSeries = {
      received: this.m.received.labels(pipeline),
      decided,
      deadlineMisses: this.m.deadlineMisses.labels(pipeline),
      redeliveries: this.m.redeliveries.labels(pipeline),
      latency: this.m.latency.labels(pipeline),
      stages,
    };
    series.received.inc(0);
    series.deadlineMisses.inc(0);
    series.redeliveries.inc(0);
    this.m.latency.zero({ pipeline });
    for (const stage of STAGES) this.m.stageLatencies.zero({ pipeline, stage });
    this.series.set(pipeline, series);
    return series;
  }
}

async function sumBy(metric: Counter<string> | Gauge<string>, label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { labels, value } of (await metric.get()).values) {
    const key = String(labels[label]);
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

function defineMetrics(registry: Registry, deps: MetricsRegistryDeps, lag: LagMonitor): Metrics {
  const registers = [registry];
  const { sources, models } = deps;
  const perModel = (read: (lane: { queued: number; inflight: number } | undefined) => number) =>
    function (this: Gauge<'model'>): void {
      const queues = sources.queues();
      for (const model of new Set([...models, ...queues.keys()]))
        this.set({ model }, read(queues.get(model)));
    };
  new Gauge({
    name: 'infergate_queue_depth',
    help: 'Events waiting for inference, per model.',
    labelNames: ['model'],
    registers,
    collect: perModel((lane) => lane?.queued ?? 0),
  });
  new Gauge({
    name: 'infergate_inflight_runs',
    help: 'Inference runs in progress, per model.',
    labelNames: ['model'],
    registers,
    collect: perModel((lane) => lane?.inflight ?? 0),
  });
  new Gauge({
    name: 'infergate_mqtt_connected',
    help: '1 while the broker connection is up.',
    registers,
    collect() {
      this.set(sources.mqttConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'infergate_ready',
    help: '1 while the gateway serves: broker connected, models loaded, not draining.',
    registers,
    collect() {
      this.set(sources.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'infergate_process_resident_memory_bytes',
    help: 'Resident set size of the process, bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const intake = { holds: 0 };
  new Counter({
    name: 'infergate_mqtt_intake_holds_total',
    help: 'Inbound events held back because the broker was not reading our publishes (over 1 MiB unsent).',
    registers,
    collect() {
      const holds = sources.mqttIntakeHolds();
      this.inc(Math.max(holds - intake.holds, 0));
      intake.holds = holds;
    },
  });
  const cpu = { seconds: 0 };
  new Counter({
    name: 'infergate_process_cpu_seconds_total',
    help: 'User and system CPU time of the process, seconds.',
    registers,
    collect() {
      const usage = process.cpuUsage();
      const total = (usage.user + usage.system) / 1e6;
      this.inc(Math.max(total - cpu.seconds, 0));
      cpu.seconds = total;
    },
  });
  new Gauge({
    name: 'infergate_event_loop_lag_seconds',
    help: 'Event-loop delay over the last 10 s window: p50, p99 and max, seconds.',
    labelNames: ['stat'],
    registers,
    collect() {
      const window = lag.current();
      this.set({ stat: 'p50' }, window.p50);
      this.set({ stat: 'p99' }, window.p99);
      this.set({ stat: 'max' }, window.max);
    },
  });
  new Gauge({
    name: 'infergate_start_time_seconds',
    help: 'Process start, seconds since the epoch.',
    registers,
  }).set(Date.now() / 1000);
  new Gauge({
    name: 'infergate_build_info',
    help: 'Always 1; the labels carry the infergate and Node.js versions.',
    labelNames: ['version', 'node'],
    registers,
  }).set({ version: deps.version, node: process.versions.node }, 1);

  return {
    received: new Counter({
      name: 'infergate_events_received_total',
      help: 'Events received, per pipeline (redeliveries included).',
      labelNames: ['pipeline'],
      registers,
    }),
    decided: new Counter({
      name: 'infergate_events_decided_total',
      help: 'Decisions made, per pipeline, source (model|fallback) and reason.',
      labelNames: ['pipeline', 'source', 'reason'],
      registers,
    }),
    deadlineMisses: new Counter({
      name: 'infergate_deadline_misses_total',
      help: 'Events whose model answer did not arrive within the budget (fallback, reason deadline).',
      labelNames: ['pipeline'],
      registers,
    }),
    redeliveries: new Counter({
      name: 'infergate_redeliveries_total',
      help: 'Events received again with an id already in the decision log.',
      labelNames: ['pipeline'],
      registers,
    }),
    latency: new Histogram({
      name: 'infergate_decision_latency_seconds',
      help: 'Arrival at the gateway to decision, seconds.',
      labelNames: ['pipeline'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    stageLatencies: new Histogram({
      name: 'infergate_stage_latency_seconds',
      help: 'Time in one stage (decode, queue, inference, publish), seconds.',
      labelNames: ['pipeline', 'stage'],
      buckets: STAGE_BUCKETS,
      registers,
    }),
    deadLetters: new Counter({
      name: 'infergate_dead_letters_total',
      help: 'Refused events, per error code.',
      labelNames: ['code'],
      registers,
    }),
    lateResults: new Counter({
      name: 'infergate_late_model_results_total',
      help: 'Model results that came back after their events were answered by the fallback.',
      labelNames: ['model'],
      registers,
    }),
    loadSeconds: new Gauge({
      name: 'infergate_model_load_seconds',
      help: 'Time to load, verify and warm up the model at start, seconds.',
      labelNames: ['model'],
      registers,
    }),
    reconnects: new Counter({
      name: 'infergate_mqtt_reconnects_total',
      help: 'Successful broker connects after the first one.',
      registers,
    }),
    walRestarts: new Counter({
      name: 'infergate_state_wal_restarts_total',
      help: 'Attempts to start the state database WAL over (result restarted|retry).',
      labelNames: ['result'],
      registers,
    }),
    writeHolds: new Histogram({
      name: 'infergate_state_write_hold_seconds',
      help: 'Time state writes waited for a WAL restart, seconds.',
      buckets: STAGE_BUCKETS,
      registers,
    }),
  };
}

/**
 * Event-loop delay over fixed windows: scrapes and stats messages read the last completed window, and
 * reading never resets it, so two readers cannot hide each other's spikes.
 */
class LagMonitor {
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: LagWindow | undefined;

  constructor() {
    this.histogram = undefined;
    this.timer = undefined;
    this.last = undefined;
  }

  start(): void {
    if (this.histogram !== undefined) return;
    const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    histogram.enable();
    this.histogram = histogram;
    this.timer = setInterval(() => {
      this.last = readLag(histogram);
      histogram.reset();
    }, LAG_WINDOW_MS).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  /** The last completed window; until one has completed, the one in progress. */
  current(): LagWindow {
    if (this.last !== undefined) return this.last;
    return this.histogram === undefined ? { p50: 0, p99: 0, max: 0 } : readLag(this.histogram);
  }
}

/** Seconds; the histogram holds nanoseconds and reads NaN/huge values until it has samples. */
function readLag(histogram: IntervalHistogram): LagWindow {
  if (histogram.count === 0) return { p50: 0, p99: 0, max: 0 };
  return {
    p50: histogram.percentile(50) / 1e9,
    p99: histogram.percentile(99) / 1e9,
    max: histogram.max / 1e9,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
