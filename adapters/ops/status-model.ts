/**
 * The numbers behind the status page (`/status.json`), kept cheaply as the gateway works: a ring of recent
 * latencies per pipeline, per-minute decision counts, a ring of recent dead letters (code and topic, never
 * the payload) and the broker's connection history. Totals since start come from the metrics registry;
 * models, inbox and broker state are read from the running parts when someone asks.
 */
import type { InfergateConfig } from '../../daemon/config.js';
import type { ModelInfo, TransportState } from '../../daemon/ports.js';
import { DeadLetterRing } from './dead-letter-ring.js';
import { DecisionMinutes } from './decision-minutes.js';
import { LatencyWindow } from './latency-window.js';
import { binaryName, llamaDeviceInUse, type LlamaDeviceReport } from '../llama/device-report.js';
import type { MetricsSnapshot } from './metrics-registry.js';
import {
  quantizationFromFileName,
  readModelCardSummary,
  type ModelCardSummary,
} from './model-card-summary.js';
import type { BrokerStatus, LlmStatus, ModelStatus, StatusSnapshot } from './status-snapshot.js';

/** What the running gateway tells the status page (Gateway.status). */
export interface GatewayStatusView {
  models: ReadonlyMap<string, ModelInfo>;
  undecided: number;
  unacknowledged: number;
}

export interface StatusModelDeps {
  config: InfergateConfig;
  version: string;
  /** Totals since start, from the metrics registry. */
  totals(): Promise<MetricsSnapshot>;
  /** Undefined until the gateway is built. */
  gateway(): GatewayStatusView | undefined;
  transportState(): TransportState | undefined;
  /** ms epoch; injected so tests can steer the minute buckets. */
  now?: () => number;
}

export interface StatusModel {
  eventDecided(pipeline: string, source: string, reason: string, latencyMs: number): void;
  deadLetter(code: string, topic: string): void;
  brokerConnected(sessionPresent: boolean): void;
  brokerDisconnected(reason: string): void;
  /** Reads the model cards. Never throws: a card that cannot be read is shown as absent. */
  start(): Promise<void>;
  snapshot(): Promise<StatusSnapshot>;
}

/** Latest decisions per pipeline that p50/p99 are computed from. */
const LATENCY_RING = 4096;
/** p50/p99 cover decisions of the last this many ms. */
const LATENCY_WINDOW_MS = 5 * 60_000;
/** Minutes of decision counts kept. */
const DECISION_MINUTES = 15;
const RECENT_DEAD_LETTERS = 20;
/** Pipelines with a latency ring: the configured ones, plus a bound for names added by a reload. */
const MAX_PIPELINES = 256;
/** The memory map is re-read at most this often, ms. */
const LLAMA_BUILD_CACHE_MS = 30_000;

export function createStatusModel(deps: StatusModelDeps): StatusModel {
  return new GatewayStatusModel(deps);
}

class GatewayStatusModel implements StatusModel {
  private readonly deps: StatusModelDeps;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly latencies: Map<string, LatencyWindow>;
  private readonly minutes: DecisionMinutes;
  private readonly deadLetters: DeadLetterRing;
  private readonly cards: Map<string, ModelCardSummary | null>;
  private readonly broker: { sessionPresent: boolean | null; since: number | null; connects: number };
  private lastDisconnect: { at: number; reason: string } | null;
  private llamaBuild: { at: number; value: LlamaDeviceReport | null } | undefined;

  constructor(deps: StatusModelDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.latencies = new Map();
    this.minutes = new DecisionMinutes(DECISION_MINUTES);
    this.deadLetters = new DeadLetterRing(RECENT_DEAD_LETTERS);
    this.cards = new Map();
    this.broker = { sessionPresent: null, since: null, connects: 0 };
    this.lastDisconnect = null;
    this.llamaBuild = undefined;
  }

  // ------------------------------------------------------------------ recording (hot path)

  eventDecided(pipeline: string, source: string, reason: string, latencyMs: number): void {
    const at = this.now();
    this.minutes.record(pipeline, source, reason, at);
    let window = this.latencies.get(pipeline);
    if (window === undefined && this.latencies.size < MAX_PIPELINES) {
      window = new LatencyWindow(LATENCY_RING, LATENCY_WINDOW_MS);
      this.latencies.set(pipeline, window);
    }
    window?.record(latencyMs, at);
  }

  deadLetter(code: string, topic: string): void {
    this.deadLetters.record(code, topic, this.now());
  }

  brokerConnected(sessionPresent: boolean): void {
    this.broker.sessionPresent = sessionPresent;
    this.broker.since = this.now();
    this.broker.connects += 1;
  }

  brokerDisconnected(reason: string): void {
    this.broker.since = null;
    this.lastDisconnect = { at: this.now(), reason };
  }

  // ------------------------------------------------------------------ reading

  async start(): Promise<void> {
    const models = Object.values(this.deps.config.models);
    const cards = await Promise.all(models.map((model) => readModelCardSummary(model.path)));
    models.forEach((model, i) => this.cards.set(model.name, cards[i] ?? null));
  }

  async snapshot(): Promise<StatusSnapshot> {
    const { config } = this.deps;
    const now = this.now();
    const totals = await this.deps.totals();
    const gateway = this.deps.gateway();
    const minutes = this.minutes.view(now);
    const deadLetters = this.deadLetters.view();
    return {
      gateway: {
        id: config.gateway.id,
        version: this.deps.version,
        node: process.versions.node,
        uptimeSec: Math.round((now - this.startedAt) / 1000),
        ready: totals.ready,
      },
      generatedAt: new Date(now).toISOString(),
      latencyWindowSec: LATENCY_WINDOW_MS / 1000,
      pipelines: config.pipelines.map((pipeline) => {
        const total = totals.pipelines[pipeline.name];
        const window = this.latencies.get(pipeline.name) ?? new LatencyWindow(1, LATENCY_WINDOW_MS);
        return {
          name: pipeline.name,
          model: pipeline.model,
          budgetMs: pipeline.budgetMs,
          latency: window.summary(now, pipeline.budgetMs),
          received: total?.received ?? 0,
          decided: total?.decided ?? {},
          deadlineMisses: total?.deadlineMisses ?? 0,
        };
      }),
      decisions: { minutes: minutes.minutes.map((m) => new Date(m).toISOString()), series: minutes.series },
      models: this.models(gateway, totals),
      broker: this.brokerStatus(),
      inbox: {
        undecided: gateway?.undecided ?? 0,
        unacknowledged: gateway?.unacknowledged ?? 0,
        stateDir: config.state.dir,
      },
      deadLetters: {
        total: deadLetters.total,
        byCode: deadLetters.byCode,
        recent: deadLetters.recent.map((d) => ({
          at: new Date(d.at).toISOString(),
          code: d.code,
          topic: d.topic,
        })),
      },
      llm: await this.llm(gateway, now),
      process: totals.process,
    };
  }

  private models(gateway: GatewayStatusView | undefined, totals: MetricsSnapshot): ModelStatus[] {
    const used = [...new Set(this.deps.config.pipelines.map((p) => p.model))];
    return used.map((name) => {
      const config = this.deps.config.models[name];
      const info = gateway?.models.get(name);
      const card = this.cards.get(name) ?? null;
      const lane = totals.models[name];
      const path = config?.path ?? '';
      return {
        name,
        runtime: info?.runtime ?? config?.runtime ?? 'unknown',
        sha256: info?.sha256 ?? null,
        path,
        quantization: card?.quantization ?? quantizationFromFileName(path),
        card,
        loadMs: lane?.loadMs ?? null,
        queued: lane?.queued ?? 0,
        inflight: lane?.inflight ?? 0,
      };
    });
  }

  private brokerStatus(): BrokerStatus {
    const { mqtt } = this.deps.config;
    return {
      url: withoutCredentials(mqtt.url),
      clientId: mqtt.clientId,
      protocolVersion: mqtt.protocolVersion,
      state: this.deps.transportState() ?? 'unknown',
      sessionPresent: this.broker.sessionPresent,
      sessionExpirySec: mqtt.sessionExpirySec,
      connectedSince: this.broker.since === null ? null : new Date(this.broker.since).toISOString(),
      connects: this.broker.connects,
      lastDisconnect:
        this.lastDisconnect === null
          ? null
          : { at: new Date(this.lastDisconnect.at).toISOString(), reason: this.lastDisconnect.reason },
    };
  }

  private async llm(gateway: GatewayStatusView | undefined, now: number): Promise<LlmStatus | null> {
    const { config } = this.deps;
    const pipelines = config.pipelines.filter((p) => config.models[p.model]?.runtime === 'llama');
    if (pipelines.length === 0) return null;
    if (this.llamaBuild === undefined || now - this.llamaBuild.at > LLAMA_BUILD_CACHE_MS) {
      this.llamaBuild = { at: now, value: llamaDeviceInUse() };
    }
    const build = this.llamaBuild.value;
    return {
      pipelines: pipelines.map((p) => p.name),
      runtime: gateway?.models.get(pipelines[0]!.model)?.runtime ?? null,
      build: build?.build ?? null,
      cpuVariant: build?.cpuVariant ?? null,
      binaries: build === null ? null : binaryName(build),
    };
  }
}

/** `mqtt://user:secret@host` must not reach a web page. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
