/**
 * The validated config, as the rest of the gateway sees it. The loader (config/load-config.ts) produces
 * this shape from YAML/JSON plus INFERGATE_* env overrides, resolves relative paths against the config
 * file's directory, and freezes it. Units are in the key names where they are not obvious.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface GatewayConfig {
  /** Names the status and dead-letter topics: `infergate/<id>/status`. */
  id: string;
}

export interface MqttConfig {
  /** `mqtt://host:port`, `mqtts://host:port`, or `unix:///path/to/socket`. */
  url: string;
  protocolVersion: 4 | 5;
  /** Stable across restarts so the broker keeps this instance's persistent session. */
  clientId: string;
  keepaliveSec: number;
  /** MQTT 5 session expiry; 0 would drop the session (and events published meanwhile) on disconnect. */
  sessionExpirySec: number;
  /** MQTT 5 Receive Maximum: QoS 1 messages the broker may have in flight to us. */
  receiveMaximum: number;
  connectTimeoutMs: number;
  reconnect: { minMs: number; maxMs: number };
  tls: { ca: string | null; cert: string | null; key: string | null; rejectUnauthorized: boolean };
  username: string | null;
  /** The password is read from this file at start; it never appears in the config or the logs. */
  passwordFile: string | null;
  /** Filled by the loader from `passwordFile`; not a config key. */
  password: string | null;
}

export interface EmbeddedBrokerConfig {
  enabled: boolean;
  host: string;
  port: number;
}

export type ModelRuntimeName = 'onnx' | 'llama';

export type ModelPlacement = 'auto' | 'inline' | 'workers';

export interface ModelConfig {
  name: string;
  runtime: ModelRuntimeName;
  /** Absolute after loading. */
  path: string;
  /** Lower-case hex; when set, the model file must match or the gateway refuses to start. */
  sha256: string | null;
  /** ONNX Runtime intra-op threads per worker. */
  threads: number;
  /** Worker threads running this model (each holds its own session), when it runs on workers. */
  workers: number;
  /**
   * Where an ONNX model runs: on the event loop (`inline`, for models whose run costs microseconds: a hop to
   * a thread costs more than the model), on worker threads (`workers`), or `auto`: inline when a full
   * batch measured at warm-up is below the inline threshold (adapters/onnx/placement.ts). llama: `workers`.
   */
  placement: ModelPlacement;
  /** Largest micro-batch one inference call may take. */
  maxBatch: number;
  /** Settings of the `llama` runtime (GGUF via node-llama-cpp); null for other runtimes. */
  llama: LlamaModelConfig | null;
}

export interface LlamaModelConfig {
  /** Compute device; an explicit choice wins over detection (`auto` may miss a Jetson GPU). */
  device: 'cpu' | 'cuda' | 'vulkan' | 'auto';
  /** Context size per sequence, tokens. */
  contextSize: number;
  /** Prompt evaluation batch size, tokens (also bounds the compute buffer). */
  batchSize: number;
  /** Layers offloaded to the GPU; `max` offloads all. Ignored on `cpu`. */
  gpuLayers: number | 'max';
  /** Sequences (events evaluated concurrently) per context. */
  sequences: number;
}

/** An LLM pipeline's prompt: the event's fields rendered into a user message under a fixed system prompt. */
export interface PromptConfig {
  /** `classify`: one forward pass scores the labels; `generate`: JSON-schema constrained output. */
  mode: 'classify' | 'generate';
  /** Fixed system prompt; its KV cache is computed once and reused for every event. */
  system: string;
  /** User message template; `{path}` placeholders take event fields (dotted paths). */
  template: string;
  /** The answers the model chooses from, in output order. */
  labels: string[];
  /** Longest rendered user message accepted, tokens; longer events are `invalid_input`. */
  maxPromptTokens: number;
  /** `generate` only: answer tokens at most. */
  maxAnswerTokens: number;
  /** `generate` only: R1 thinking budget, tokens (0 disables thinking). */
  thoughtTokens: number;
}

/** One model input value taken from the event. */
export type InputField =
  | {
      kind: 'number';
      /** Dotted path into the event (`card.present`). */
      path: string;
      /** Used when the field is absent; without it an absent field is `invalid_input`. */
      default: number | null;
    }
  | { kind: 'boolean'; path: string; default: boolean | null }
  | {
      /** One-hot: one input per listed value, 1 where the field equals it; unknown values are invalid. */
      kind: 'oneHot';
      path: string;
      values: string[];
      default: string | null;
    }
  | {
      /**
       * A tensor: a numeric array of exactly `shape` (nested JSON arrays, flattened row-major) or a typed
       * array of product(shape) values put into the event by a binary decoder. No default.
       */
      kind: 'tensor';
      path: string;
      shape: number[];
    };

export interface InputMapping {
  /** Model input tensor name; defaults to the model's first input. */
  tensor: string | null;
  fields: InputField[];
  /**
   * A model with several input tensors: one mapping per tensor, each naming its tensor (`tensor` is then
   * null and `fields` empty). Absent for the single-tensor form.
   */
  tensors?: TensorInputMapping[];
}

export interface TensorInputMapping {
  tensor: string;
  fields: InputField[];
}

/** A raw MQTT payload read as one little-endian tensor (`decoder: tensor`). */
export interface TensorPayloadConfig {
  dtype: 'float32' | 'int16';
  /** Dimensions without a batch dimension; the payload holds exactly product(shape) values. */
  shape: number[];
}

export type DecisionRules =
  | {
      kind: 'threshold';
      /** Index into the model's output vector that holds the score. */
      output: number;
      /** Checked in order; the first whose `min` the score reaches wins. */
      bands: { min: number; decision: string }[];
      otherwise: string;
    }
  | {
      kind: 'argmax';
      /** One label per model output, in output order; null takes them from the model card. */
      labels: string[] | null;
      /** Label → decision; a label absent here decides as itself. */
      decisions: Record<string, string>;
      /** Below this top probability, `lowConfidence` is decided instead. */
      minConfidence: number;
      lowConfidence: string;
    };

export interface PipelineConfig {
  name: string;
  /** MQTT subscription filter, may be `$share/<group>/<filter>`. */
  subscribe: string;
  /** Output topic template; `{1}`, `{2}`… are the segments matched by the filter's wildcards. */
  publish: string;
  /** MQTT filters a request's Response Topic must match; empty means response topics are refused. */
  responseTopics: string[];
  /** `sparkplug`: Sparkplug B DATA messages, metrics resolved through the sender's BIRTH. */
  decoder: 'json' | 'sparkplug' | 'tensor' | 'image';
  model: string;
  /**
   * Tensor models (ONNX): event fields → input tensor(s). Exactly one of `input` and `prompt` is set.
   */
  input: InputMapping | null;
  /** Text models (LLM): event fields → prompt. */
  prompt: PromptConfig | null;
  decide: DecisionRules;
  budgetMs: number;
  /** Decision published when the model cannot answer in time (deadline, overload, model error). */
  fallback: string;
  /** Events waiting for inference; beyond it new events are answered `overload` at once. */
  maxQueue: number;
  /** Events older than this on arrival or at restart are answered `expired`. */
  maxEventAgeMs: number;
  /**
   * Event field holding when the event happened (epoch ms or ISO 8601); its age on arrival is checked
   * against `maxEventAgeMs`. Null: age is counted from arrival at the gateway.
   */
  timestampField: string | null;
  /** `decoder: image`: how the picture becomes the model input; null for other decoders. */
  image: ImageConfig | null;
  /** `decoder: tensor` only: dtype and shape of the payload; the tensor lands at event field `payload`. */
  tensor: TensorPayloadConfig | null;
  /** Largest payload this pipeline accepts, bytes; null: the decoder's default (`limits.maxPayloadBytes`). */
  maxPayloadBytes: number | null;
  /**
   * A model run on the same events off the critical path: its decisions are recorded next to the live
   * ones (table `shadow_decisions`), never published. Null: no shadow.
   */
  shadow: string | null;
  /** A candidate model deciding a stable share of the events, with automatic rollback. Null: no canary. */
  canary: CanaryConfig | null;
}

/** How an image becomes a model input (applied by adapters/decoders/image/preprocess.ts). */
export interface ImagePreprocessSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  /** `fill` stretches, `contain` letterboxes with black, `cover` crops the centre. */
  fit: 'fill' | 'contain' | 'cover';
  scale: number;
  mean: number[];
  std: number[];
  layout: 'nchw' | 'nhwc';
  /** Declared width×height above this is refused before any pixel is decoded (decompression bombs). */
  maxInputPixels: number;
}

export interface ImageConfig extends ImagePreprocessSpec {
  /** Path of a base64 image in a JSON event; null: the payload itself is the image. */
  field: string | null;
}

/** What picks an event for the canary: a topic level (0-based) or an event field (dotted path). */
export type CanaryKey = { kind: 'topicLevel'; level: number } | { kind: 'field'; path: string };

export interface CanaryConfig {
  /** The candidate model (a name in `models`). */
  model: string;
  /** Share of keys decided by the candidate, in (0, 1]. */
  share: number;
  key: CanaryKey;
  /** Rollback when the candidate's share of fallback decisions over the window exceeds this. */
  maxFallbackRate: number;
  /** Rollback when the candidate's p99 end-to-end latency over the window exceeds this, ms. */
  maxP99Ms: number;
  /** The bounds are checked only once the window holds this many candidate decisions. */
  minEvents: number;
  windowSec: number;
}

/** Every tensor mapping of `input`, in the order written. */
export function inputMappings(input: InputMapping): readonly InputMapping[] {
  return input.tensors ?? [input];
}

export interface StateConfig {
  /** Absolute after loading. */
  dir: string;
  /** Decided rows older than this are pruned. */
  retentionHours: number;
  /** SQLite synchronous mode; `normal` survives process crashes, `full` also power loss. */
  synchronous: 'normal' | 'full';
}

export interface PrivacyConfig {
  /** Keep the raw event payload in the decision log after it is decided (default: only its sha256). */
  keepInput: boolean;
  /** Put the raw payload (base64) into dead-letter records (default: only size and sha256). */
  deadLetterPayload: boolean;
  /**
   * Accept broker and listen addresses outside loopback, link-local and private ranges. Off: such an
   * address is a config problem, so a typo cannot send events off the local network.
   */
  allowPublicEndpoints: boolean;
}

export interface MetricsConfig {
  /** Serve `/metrics`, `/healthz` and `/readyz`. */
  enabled: boolean;
  /** Address the HTTP endpoint listens on. */
  host: string;
  /** TCP port; 0 picks a free one. Ignored when systemd passes a socket named `metrics`. */
  port: number;
  /** Publish a stats summary on `infergate/<gateway.id>/stats` this often, seconds; 0 = never. */
  statusIntervalSec: number;
}

export interface InputLimits {
  maxPayloadBytes: number;
  maxDepth: number;
}

/** The gateway as a Sparkplug B 3.0 Host Application (pipelines with `decoder: sparkplug`). */
export interface SparkplugConfig {
  /** Host Application id: set, the gateway publishes `spBv1.0/STATE/<hostId>`; null, no STATE at all. */
  hostId: string | null;
  /** At most one rebirth request (NCMD `Node Control/Rebirth`) per edge node this often, ms. */
  rebirthMinIntervalMs: number;
  /** Metric whose value is the event id; null derives it from edge node, device, seq and timestamp. */
  eventIdMetric: string | null;
  commands: SparkplugCommandsConfig;
}

/** The decision written back to the device (DCMD) or edge node (NCMD) it came from. */
export interface SparkplugCommandsConfig {
  /** `off`: JSON decision only; `also`: JSON and command; `instead`: the command replaces the JSON decision. */
  mode: 'off' | 'also' | 'instead';
  /** String metric that takes the decision (`Inspection/Decision`). */
  decisionMetric: string | null;
  /** Boolean metric, true when the decision is `rejectDecision` (`Inspection/Reject`). */
  rejectMetric: string | null;
  rejectDecision: string;
  /** Double metric that takes the score; a fallback decision writes no score. */
  scoreMetric: string | null;
}

export interface InfergateConfig {
  gateway: GatewayConfig;
  mqtt: MqttConfig;
  broker: { embedded: EmbeddedBrokerConfig };
  models: Record<string, ModelConfig>;
  pipelines: PipelineConfig[];
  limits: InputLimits;
  state: StateConfig;
  privacy: PrivacyConfig;
  log: { level: LogLevel };
  metrics: MetricsConfig;
  sparkplug: SparkplugConfig;
  /** Absolute path of the file this config came from, or null when built in code. */
  source: string | null;
}
