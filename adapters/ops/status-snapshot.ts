/**
 * What `/status.json` answers: the status page renders it, `infergate status` prints it. Field names are
 * part of the local contract (docs/metrics.md#status-page); add fields, do not rename them.
 */
import type { DecisionMinutesView } from './decision-minutes.js';
import type { LatencySummary } from './latency-window.js';
import type { ModelCardSummary } from './model-card-summary.js';

export interface PipelineStatus {
  name: string;
  model: string;
  budgetMs: number;
  /** Over the last `latencyWindowSec`. */
  latency: LatencySummary;
  /** Since start (from the metrics registry). */
  received: number;
  decided: Record<string, number>;
  deadlineMisses: number;
}

export interface ModelStatus {
  name: string;
  runtime: string;
  /** Full sha256 of the file that was loaded and verified; null before it loaded. */
  sha256: string | null;
  path: string;
  quantization: string | null;
  card: ModelCardSummary | null;
  loadMs: number | null;
  queued: number;
  inflight: number;
}

export interface BrokerStatus {
  /** The broker URL without credentials. */
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped' | 'unknown';
  /** The broker kept our session at the last connect (queued events were waiting); null before one. */
  sessionPresent: boolean | null;
  /** MQTT 5 session expiry, seconds (3.1.1 keeps the session until the client comes back). */
  sessionExpirySec: number;
  connectedSince: string | null;
  connects: number;
  lastDisconnect: { at: string; reason: string } | null;
}

export interface LlmStatus {
  /** Pipelines whose model runs on the llama runtime. */
  pipelines: string[];
  /** As the model reports it, e.g. `node-llama-cpp (cpu, llama.cpp b6500)`. */
  runtime: string | null;
  /** `cpu`, `cuda`, `vulkan`…; null until a llama.cpp library is loaded. */
  build: string | null;
  /** The CPU library llama.cpp picked for this processor, e.g. `sapphirerapids`. */
  cpuVariant: string | null;
  /** The binary package (`linux-x64`, `linux-x64-cuda`) or local build folder it came from. */
  binaries: string | null;
}

export interface StatusSnapshot {
  gateway: { id: string; version: string; node: string; uptimeSec: number; ready: boolean };
  generatedAt: string;
  latencyWindowSec: number;
  pipelines: PipelineStatus[];
  decisions: { minutes: string[]; series: DecisionMinutesView['series'] };
  models: ModelStatus[];
  broker: BrokerStatus;
  inbox: { undecided: number; unacknowledged: number; stateDir: string };
  deadLetters: {
    total: number;
    byCode: Record<string, number>;
    recent: { at: string; code: string; topic: string }[];
  };
  /** Null when no pipeline runs an LLM. */
  llm: LlmStatus | null;
  process: { rssBytes: number; eventLoopLagP99Ms: number };
}
