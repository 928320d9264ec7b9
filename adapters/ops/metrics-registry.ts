/**
 * The GatewayMetrics port on a prom-client registry. The core calls it per event, so each pipeline's series
 * are bound once (bound-series.ts) and a call is an increment. Values that are a state rather than a count (queue depth, MQTT
 * connection, readiness, memory, event-loop lag) are read from callbacks when scraped. Every metric and its
 * labels: docs/metrics.md.
 */
import { Registry, type Gauge } from 'prom-client';
import type { DecisionStage, GatewayMetrics, ShadowResult } from '../../daemon/ports.js';
import type { CounterFamily, CounterSeries, HistogramSeries } from './bound-series.js';
import { LagMonitor } from './lag-monitor.js';
import { defineMetrics, type Metrics } from './metric-definitions.js';
import type { MetricsSources } from './metrics-sources.js';

export type { MetricsSources };

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
  /** Starts the event-loop delay monitor (it samples while events arrive, see LagMonitor). */
  start(): void;
  /** Stops the monitor and its window timer. Idempotent. */
  stop(): void;
}

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

interface PipelineSeries {
  received: CounterSeries;
  decided: Map<string, CounterSeries>;
  deadlineMisses: CounterSeries;
  redeliveries: CounterSeries;
  latency: HistogramSeries;
  stages: Record<DecisionStage, HistogramSeries>;
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
    this.lag.touch();
    this.prepare(pipeline)?.received.inc();
  }

  eventDecided(pipeline: string, source: string, reason: string, latencyMs: number): void {
    const series = this.prepare(pipeline);
    if (series === undefined) return;
    const key = `${source}/${reason}`;
    let counter = series.decided.get(key);
    if (counter === undefined && series.decided.size < MAX_DYNAMIC_CHILDREN) {
      counter = this.m.decided.child({ pipeline, source, reason });
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

  shadowRun(pipeline: string, result: ShadowResult, latencyMs: number | null): void {
    if (this.prepare(pipeline) === undefined) return;
    this.m.shadowRuns.inc({ pipeline, result });
    if (latencyMs !== null && Number.isFinite(latencyMs) && latencyMs >= 0) {
      this.m.shadowLatency.observe({ pipeline }, latencyMs / 1000);
    }
  }

  canaryRollback(pipeline: string, reason: string): void {
    if (this.prepare(pipeline) !== undefined) this.m.canaryRollbacks.inc({ pipeline, reason });
  }

  modelRefused(model: string, code: string): void {
    this.m.modelRefusals.inc({ model, code });
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

  /**
   * The series of one pipeline, created on first use (bounded). They appear (at 0) before the first event,
   * so rate() works from the start.
   */
  prepare(pipeline: string): PipelineSeries | undefined {
    const known = this.series.get(pipeline);
    if (known !== undefined || this.series.size >= MAX_DYNAMIC_CHILDREN) return known;
    const decided = new Map<string, CounterSeries>();
    for (const [source, reason] of OUTCOMES) {
      decided.set(`${source}/${reason}`, this.m.decided.child({ pipeline, source, reason }));
    }
    const stages = {} as Record<DecisionStage, HistogramSeries>;
    const series: PipelineSeries = {
      received: this.m.received.child({ pipeline }),
      decided,
      deadlineMisses: this.m.deadlineMisses.child({ pipeline }),
      redeliveries: this.m.redeliveries.child({ pipeline }),
      latency: this.m.latency.child({ pipeline }),
      stages,
    };
    for (const stage of STAGES) stages[stage] = this.m.stageLatencies.child({ pipeline, stage });
    this.series.set(pipeline, series);
    return series;
  }
}

async function sumBy(
  metric: CounterFamily<string> | Gauge<string>,
  label: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { labels, value } of (await metric.get()).values) {
    const key = String(labels[label]);
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
