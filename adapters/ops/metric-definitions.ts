/** The gateway's Prometheus metrics, defined once on a registry; names and labels: docs/metrics.md. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from './bound-series.js';
import type { LagMonitor } from './lag-monitor.js';
import type { MetricsSources } from './metrics-sources.js';

export interface MetricDefinitionDeps {
  models: readonly string[];
  sources: MetricsSources;
  version: string;
}

/** End-to-end buckets around the 150–300 ms budgets, seconds. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5,
];
/** Stage buckets reach down to the sub-millisecond decode and queue times, seconds. */
const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.3, 1];

export interface Metrics {
  // Per-event metrics: series bound once per pipeline (bound-series.ts).
  received: CounterFamily<'pipeline'>;
  decided: CounterFamily<'pipeline' | 'source' | 'reason'>;
  deadlineMisses: CounterFamily<'pipeline'>;
  redeliveries: CounterFamily<'pipeline'>;
  latency: HistogramFamily<'pipeline'>;
  stageLatencies: HistogramFamily<'pipeline' | 'stage'>;
  deadLetters: Counter<'code'>;
  lateResults: Counter<'model'>;
  loadSeconds: Gauge<'model'>;
  reconnects: Counter;
  walRestarts: Counter<'result'>;
  writeHolds: Histogram;
  shadowRuns: Counter<'pipeline' | 'result'>;
  shadowLatency: Histogram<'pipeline'>;
  canaryRollbacks: Counter<'pipeline' | 'reason'>;
  modelRefusals: Counter<'model' | 'code'>;
}

export function defineMetrics(registry: Registry, deps: MetricDefinitionDeps, lag: LagMonitor): Metrics {
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
    received: new CounterFamily({
      name: 'infergate_events_received_total',
      help: 'Events received, per pipeline (redeliveries included).',
      labelNames: ['pipeline'],
      registers,
    }),
    decided: new CounterFamily({
      name: 'infergate_events_decided_total',
      help: 'Decisions made, per pipeline, source (model|fallback) and reason.',
      labelNames: ['pipeline', 'source', 'reason'],
      registers,
    }),
    deadlineMisses: new CounterFamily({
      name: 'infergate_deadline_misses_total',
      help: 'Events whose model answer did not arrive within the budget (fallback, reason deadline).',
      labelNames: ['pipeline'],
      registers,
    }),
    redeliveries: new CounterFamily({
      name: 'infergate_redeliveries_total',
      help: 'Events received again with an id already in the decision log.',
      labelNames: ['pipeline'],
      registers,
    }),
    latency: new HistogramFamily({
      name: 'infergate_decision_latency_seconds',
      help: 'Arrival at the gateway to decision, seconds.',
      labelNames: ['pipeline'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    stageLatencies: new HistogramFamily({
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
    shadowRuns: new Counter({
      name: 'infergate_shadow_runs_total',
      help: 'Shadow model runs per event (result agree|disagree|skipped|error).',
      labelNames: ['pipeline', 'result'],
      registers,
    }),
    shadowLatency: new Histogram({
      name: 'infergate_shadow_latency_seconds',
      help: 'Arrival to shadow decision, seconds.',
      labelNames: ['pipeline'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    canaryRollbacks: new Counter({
      name: 'infergate_canary_rollbacks_total',
      help: 'Canary candidates sent back to the live model (reason fallback_rate|p99).',
      labelNames: ['pipeline', 'reason'],
      registers,
    }),
    modelRefusals: new Counter({
      name: 'infergate_model_refusals_total',
      help: 'New models a reload refused (code: why); the running model kept serving.',
      labelNames: ['model', 'code'],
      registers,
    }),
  };
}
