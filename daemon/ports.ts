/**
 * The interfaces the core knows adapters by. Concrete adapters live in adapters/, grouped by capability,
 * and are wired together only by the entry point (bin/run-gateway.ts).
 */
import type { Logger } from 'pino';

export type { Logger };

declare const timerBrand: unique symbol;

/** A pending timer of a `Clock`; opaque, only good for `clearTimeout` on the clock that made it. */
export type TimerHandle = { readonly [timerBrand]: true };

/**
 * Wall time, monotonic time, and one-shot timers on that monotonic time. Injected so tests can steer time
 * (deadlines included); `systemClock` is the real one.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds (performance.now()). */
  monotonic(): number;
  /** Calls `fn` once, `ms` milliseconds of monotonic time from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer that has not fired; ignores `undefined` and timers that already fired. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout | undefined),
};

// ---------------------------------------------------------------- MQTT

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  /** Set on a redelivery [MQTT-3.3.1-1]. */
  dup: boolean;
  /** MQTT 5 Response Topic, if the request carried one. */
  responseTopic: string | undefined;
  /** MQTT 5 Correlation Data, if the request carried one. */
  correlationData: Buffer | undefined;
  /** MQTT 5 Message Expiry Interval remaining, in seconds, if set. */
  messageExpirySec: number | undefined;
}

/**
 * Called once per inbound message, one at a time. The transport sends the PUBACK only after the returned
 * promise resolves; a rejection leaves the message unacknowledged so the broker redelivers it.
 * Must be quick: it persists the event and returns; inference happens elsewhere.
 */
export type MessageHandler = (message: InboundMessage) => void | Promise<void>;

/**
 * Given to the transport with the handler: makes durable whatever the handler has recorded since the last
 * call, and throws when it could not. The transport calls it before any PUBACK written since then can
 * leave the process, so a handler may leave its records uncommitted until then: the acknowledgements of a
 * burst of messages then share one commit. When it throws, those PUBACKs are never sent.
 */
export type DurabilityBarrier = () => void;

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
  /** MQTT 5 Correlation Data to echo on a response. Ignored on MQTT 3.1.1. */
  correlationData?: Buffer;
}

export type TransportState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface TransportEvents {
  connect: (info: { sessionPresent: boolean }) => void;
  disconnect: (info: { reason: string }) => void;
}

export interface MqttTransport {
  readonly protocolVersion: 4 | 5;
  readonly state: TransportState;
  /** Inbound events held back so far because the broker was not reading what we publish. */
  readonly intakeHolds: number;
  /**
   * Connects, subscribes (QoS 1) to `subscriptions` on every connect, publishes retained `online`
   * on the status topic. Resolves on the first successful connect.
   */
  start(
    subscriptions: readonly string[],
    onMessage: MessageHandler,
    makeDurable?: DurabilityBarrier,
  ): Promise<void>;
  /**
   * Replaces the subscription list (a config reload): subscribes what is new, unsubscribes what is gone, and
   * uses the new list on every later connect. Resolves once the broker acknowledged both, or at once while
   * disconnected.
   */
  setSubscriptions(subscriptions: readonly string[]): Promise<void>;
  /** Resolves when the broker acknowledged the publish (QoS 1) or it was written (QoS 0). */
  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void>;
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void;
  /** Publishes retained `offline`, then disconnects cleanly. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- models

export interface TensorInfo {
  name: string;
  /** ONNX element type name, `float32` for the inputs infergate feeds. */
  type: string;
  /** Dimensions; a symbolic (dynamic) dimension is a string such as `batch`. */
  shape: (number | string)[];
}

export interface ModelInfo {
  name: string;
  runtime: string;
  /** Full lower-case hex sha256 of the model file. */
  sha256: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Values per row the model takes, all its fed input tensors together; 0 for text models. */
  inputWidth: number;
  /**
   * The input tensors a row feeds, in the order their values follow each other in the row (so their
   * widths add up to `inputWidth`). Absent: one tensor, the first input.
   */
  inputTensors?: readonly RowTensor[];
  /** Values per row of the (first) output. */
  outputWidth: number;
  /** Labels from the model card sidecar (`<model>.json`), when present. */
  labels: string[] | null;
  /** Warm-up latency per single-row call, milliseconds. */
  warmupP50Ms: number;
  warmupP95Ms: number;
}

/** One model input tensor filled from a row: `width` values per row (the product of its non-batch dims). */
export interface RowTensor {
  name: string;
  width: number;
}

export interface ModelResult {
  /** Row-major `rows × info.outputWidth` (label probabilities for text models). */
  outputs: Float32Array;
  /** Time inside the runtime for the whole batch, milliseconds. */
  inferenceMs: number;
  /** Text models in `generate` mode: the model's short reason per row, published with the decision. */
  explanations?: (string | null)[];
}

/** A batch of rows: one row-major tensor for `tensor` models, one rendered prompt per row for `text` models. */
export type ModelInput = Float32Array | readonly string[];

/**
 * A model. `run` never blocks the event loop: native inference runs on worker threads.
 * `dispose` is idempotent; pending runs reject with IG_ERR_MODEL_CLOSED.
 */
export interface ModelRunner {
  /** What `run` takes: a Float32Array (`tensor`) or prompts (`text`). Known before `load`. */
  readonly inputKind: 'tensor' | 'text';
  /** Reads, verifies (sha256), loads on the workers and warms up. Call once, before `info` or `run`. */
  load(): Promise<ModelInfo>;
  /** Throws before `load` resolved. */
  readonly info: ModelInfo;
  /** Number of runs that may execute at once (worker count). */
  readonly concurrency: number;
  /** True when `run` stops work on its abort signal; the scheduler makes one only then (it costs per batch). */
  readonly cancellable?: boolean;
  /**
   * Tensor input is row-major `rows × info.inputWidth` (each row holds the values of every tensor of
   * `info.inputTensors`, one after the other; the runner splits them per tensor and converts them to the
   * element type each input declares) and may be transferred (do not reuse it). `signal`
   * aborts when every event of the batch has already been answered (deadline): stop work that can be stopped.
   */
  run(input: ModelInput, rows: number, signal?: AbortSignal): Promise<ModelResult>;
  /**
   * Known after `load`. `inline`: a run costs microseconds and executes synchronously on the event loop
   * (`runNow`), so the scheduler runs this model's queued events at the end of the turn they arrived in,
   * before that turn's state commit. Absent or `off-loop`: runs go elsewhere (worker threads, llama.cpp's
   * threads) and are awaited.
   */
  readonly placement?: 'inline' | 'off-loop';
  /** Inline placement only: computes a batch now, on the calling thread (as `run`); throws on failure. */
  runNow?(input: Float32Array, rows: number): ModelResult;
  /**
   * Text models, optional: throws InputError when a rendered prompt can never be run (too many tokens), so
   * the event is answered `invalid_input` at intake instead of failing in the model. Called after `load`;
   * must be cheap (it runs in the MQTT message handler).
   */
  checkInput?(input: string): void;
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------- payloads

/** A decoded event: a plain object whose values are finite numbers, strings, booleans, null, arrays, objects. */
export type EventFields = Record<string, unknown>;

/**
 * Throws InputError (IG_ERR_INPUT_*) on anything it will not accept. Never mutates the buffer. `topic` is
 * the topic the message came on: a protocol decoder (Sparkplug B) reads the sender's identity from it.
 */
export type PayloadDecoder = (payload: Buffer, topic: string) => EventFields;

/**
 * A decoder whose work is partly slow (an image decoded on libvips threads). `decode` is the quick part and
 * runs in the message handler: the fields known at once, enough for the event's id, reply topic and time,
 * and the refusals that need no decoding (size, format). `complete` is the rest, run after the event is
 * recorded and acknowledged: it resolves to the complete fields, or rejects with InputError.
 */
export interface StagedDecoder {
  readonly decode: PayloadDecoder;
  complete(fields: EventFields, payload: Buffer): Promise<EventFields>;
  /** False when the raw payload is not worth keeping on record while pending (an image: megabytes). */
  readonly keepsPayload: boolean;
}

// ---------------------------------------------------------------- metrics

export type DecisionStage = 'decode' | 'queue' | 'inference' | 'publish';

/**
 * What the core reports as it works. The Prometheus adapter implements it; `noopMetrics` is the default.
 * Calls are on the hot path: implementations must be cheap and never throw.
 */
export interface GatewayMetrics {
  eventReceived(pipeline: string): void;
  /** One call per decision, with its end-to-end latency (arrival → decision), milliseconds. */
  eventDecided(pipeline: string, source: string, reason: string, latencyMs: number): void;
  /** Time an event spent in one stage, milliseconds. */
  stageLatency(pipeline: string, stage: DecisionStage, ms: number): void;
  /** A refused event: its error code and the topic it came on (never the payload). */
  deadLetter(code: string, topic: string): void;
  redelivery(pipeline: string): void;
  lateModelResult(model: string): void;
  modelLoaded(model: string, loadMs: number): void;
  /** A WAL restart held state writes this long, ms; `restarted` false when the WAL could not restart. */
  walRestart(heldMs: number, restarted: boolean): void;
  /**
   * One event's shadow run: agreed or disagreed with the live model decision, skipped (shed under load, or
   * no live model decision to compare with), or failed. `latencyMs` (arrival → shadow decision) when it ran.
   */
  shadowRun(pipeline: string, result: ShadowResult, latencyMs: number | null): void;
  /** A canary candidate crossed a bound and the live model took its share back. */
  canaryRollback(pipeline: string, reason: string): void;
  /** A reload refused a new model (`code`: why); the running one keeps serving. */
  modelRefused(model: string, code: string): void;
}

export type ShadowResult = 'agree' | 'disagree' | 'skipped' | 'error';

export const noopMetrics: GatewayMetrics = {
  eventReceived: () => {},
  eventDecided: () => {},
  stageLatency: () => {},
  deadLetter: () => {},
  redelivery: () => {},
  lateModelResult: () => {},
  modelLoaded: () => {},
  walRestart: () => {},
  shadowRun: () => {},
  canaryRollback: () => {},
  modelRefused: () => {},
};
