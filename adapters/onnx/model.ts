/**
 * ONNX model runner (onnxruntime-node, CPU). `session.run()` blocks its calling thread: a model whose whole
 * batch runs in microseconds runs inline on the event loop (a thread hop costs more than the model), any
 * other model on worker threads (adapters/onnx/worker-pool.ts), where the main thread only moves buffers.
 * adapters/onnx/placement.ts decides which. Models given the same pool share its threads.
 *
 * The file is read and hashed once; every session is built from those verified bytes (also on a worker
 * respawn), so what runs is exactly what was checked against `sha256`, even if the file changes later.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, ErrorCodes, ModelError, type ConfigProblem } from '../../daemon/errors.js';
import type { Logger, ModelInfo, ModelInput, ModelResult, ModelRunner } from '../../daemon/ports.js';
import type { ModelConfig, ModelPlacement } from '../../daemon/config.js';
import {
  ModelLifecycle,
  SHA_PREFIX,
  readModelCardLabels,
  readVerifiedModelFile,
} from '../model-runner/index.js';
import { NativeSession } from './native-session.js';
import {
  INLINE_MAX_BATCH_MS,
  INLINE_MAX_FILE_BYTES,
  INLINE_PROBE_RUNS,
  percentile,
  timeInline,
  type InlineTiming,
} from './placement.js';
import { onnxRunLayout, type OnnxRunLayout } from './run-layout.js';
import { runRows } from './run-rows.js';
import type { SessionMetadata } from './worker-protocol.js';
import { OnnxWorkerPool, type PooledModel } from './worker-pool.js';

const MAX_WORKERS = 64;
const MODEL_PLACEMENTS: readonly ModelPlacement[] = ['auto', 'inline', 'workers'];
const MAX_THREADS = 64;
const MAX_BATCH = 65_536;
const WARMUP_RUNS = 50;
/** A slow model stops warming up after this long (at least one measured round still runs). */
const WARMUP_BUDGET_MS = 1_000;
/** Runs waiting for a worker, per worker. The core keeps in-flight runs <= concurrency, so this never fills. */
const QUEUE_PER_WORKER = 4;

export interface OnnxModelDeps {
  logger: Logger;
  model: ModelConfig;
  /** Worker threads shared with other ONNX models; without one the model gets threads of its own. */
  pool?: OnnxWorkerPool;
}

/** Validates the config slice (ConfigError if invalid) and does no I/O; `load()` does that. */
export function createOnnxModel(deps: OnnxModelDeps): ModelRunner {
  // A config slice built in code (tools, tests) may leave the placement out: it defaults as in a file.
  const model: ModelConfig = { ...deps.model, placement: deps.model.placement ?? 'auto' };
  const problems = checkConfig(model);
  if (problems.length > 0) throw new ConfigError(problems);
  const logger = deps.logger.child({ component: 'onnx-model', model: model.name });
  const pool = deps.pool ?? new OnnxWorkerPool({ name: model.name, logger });
  return new OnnxModel(logger, model, pool);
}

function checkConfig(model: ModelConfig): ConfigProblem[] {
  const at = `models.${String(model.name)}`;
  const problems: ConfigProblem[] = [];
  const problem = (key: string, message: string): void => {
    problems.push({ path: `${at}.${key}`, message });
  };
  if (typeof model.name !== 'string' || model.name === '') problem('name', 'must be a non-empty string');
  if (model.runtime !== 'onnx') problem('runtime', `must be "onnx", got ${String(model.runtime)}`);
  if (typeof model.path !== 'string' || !path.isAbsolute(model.path))
    problem('path', 'must be an absolute path');
  if (model.sha256 !== null && !/^[0-9a-f]{64}$/i.test(String(model.sha256))) {
    problem('sha256', 'must be 64 hex digits or null');
  }
  if (!MODEL_PLACEMENTS.includes(model.placement)) {
    problem('placement', `must be one of ${MODEL_PLACEMENTS.join(', ')}, got ${String(model.placement)}`);
  }
  for (const [key, max] of [
    ['threads', MAX_THREADS],
    ['workers', MAX_WORKERS],
    ['maxBatch', MAX_BATCH],
  ] as const) {
    const value = model[key];
    if (!Number.isInteger(value) || value < 1 || value > max) {
      problem(key, `must be an integer from 1 to ${max}, got ${String(value)}`);
    }
  }
  return problems;
}

class OnnxModel implements ModelRunner {
  readonly inputKind = 'tensor' as const;
  private readonly lifecycle: ModelLifecycle;
  private layout: OnnxRunLayout | null = null;
  private pooled: PooledModel | null = null;
  /** The main-thread session of an inline model; null for a model on the workers. */
  private inline: NativeSession | null = null;
  private removal: Promise<void> | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly config: ModelConfig,
    private readonly pool: OnnxWorkerPool,
  ) {
    this.lifecycle = new ModelLifecycle(
      `model ${config.name}`,
      logger,
      {
        load: () => this.loadSteps(),
        // Removing the model from the pool answers its runs and a load waiting for sessions at once.
        close: () => void this.removeFromPool(),
        release: () => {
          this.inline?.release();
          return this.removeFromPool();
        },
      },
      new AbortController(),
    );
  }

  get concurrency(): number {
    return this.inline === null ? this.config.workers : 1;
  }

  get placement(): 'inline' | 'off-loop' {
    return this.inline === null ? 'off-loop' : 'inline';
  }

  get info(): ModelInfo {
    return this.lifecycle.info;
  }

  load(): Promise<ModelInfo> {
    return this.lifecycle.load();
  }

  run(input: ModelInput, rows: number): Promise<ModelResult> {
    if (this.lifecycle.state === 'disposed') return Promise.reject(this.lifecycle.closedError());
    if (!(input instanceof Float32Array)) {
      return Promise.reject(new ModelError(ErrorCodes.MODEL_RUN, `${this.label} takes a Float32Array input`));
    }
    const refusal = this.lifecycle.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.inline !== null) {
      try {
        return Promise.resolve(this.runNow(input, rows));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return this.submit(input, rows);
  }

  runNow(input: Float32Array, rows: number): ModelResult {
    if (this.lifecycle.state === 'disposed') throw this.lifecycle.closedError();
    const refusal = this.lifecycle.refusal();
    if (refusal !== null) throw refusal;
    const session = this.inline;
    if (session === null) throw new ModelError(ErrorCodes.MODEL_RUN, `${this.label} does not run inline`);
    const layout = this.checkRun(input, rows);
    const started = performance.now();
    let outputs: Float32Array;
    try {
      outputs = runRows(session, input, rows, layout);
    } catch (error) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `${this.label}: inference failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const inferenceMs = performance.now() - started;
    return { outputs: this.checkOutputs(outputs, rows, layout), inferenceMs };
  }

  dispose(): Promise<void> {
    return this.lifecycle.dispose();
  }

  private get label(): string {
    return `model ${this.config.name}`;
  }

  /** Idempotent: the pool's removal of this model, started once. */
  private removeFromPool(): Promise<void> {
    if (this.removal === null) {
      this.removal = this.pooled === null ? Promise.resolve() : this.pool.remove(this.pooled.key);
      this.removal.catch(() => undefined);
    }
    return this.removal;
  }

  private async loadSteps(): Promise<ModelInfo> {
    const { name, path: file } = this.config;
    const { bytes, sha256 } = await readVerifiedModelFile(name, file, this.config.sha256);
    const labels = await readModelCardLabels(name, file);
    this.lifecycle.throwIfDisposed();

    // `inline` is the operator's choice: built on the main thread at once. Otherwise the model starts on the
    // workers, where a slow model cannot stall the event loop, and `auto` moves it inline only once it has
    // proven there that a full batch fits INLINE_MAX_BATCH_MS.
    const forcedInline = this.config.placement === 'inline' ? this.loadInline(bytes) : null;
    const { inputs, outputs, runtimeVersion } = forcedInline?.metadata ?? (await this.loadOnWorkers(bytes));
    this.lifecycle.throwIfDisposed();
    const layout = onnxRunLayout(name, inputs, outputs);
    if (labels !== null && labels.length !== layout.outputWidth) {
      throw new ModelError(
        ErrorCodes.MODEL_SHAPE,
        `${this.label}: the model card lists ${labels.length} labels but the model has ${layout.outputWidth} outputs`,
      );
    }
    const inputNames = await readModelCardInputNames(file);
    // A card names either every value of a row (feature names) or the input tensors themselves.
    const namesTensors =
      inputNames !== null &&
      inputNames.every((n, i) => layout.rowTensors[i]?.name === n) &&
      inputNames.length === layout.rowTensors.length;
    if (inputNames !== null && !namesTensors && inputNames.length !== layout.inputWidth) {
      throw new ModelError(
        ErrorCodes.MODEL_SHAPE,
        `${this.label}: the model card lists ${inputNames.length} inputs but the model takes ${layout.inputWidth} values per row`,
      );
    }
    this.layout = layout;

    let timing: InlineTiming | null = null;
    let warmup: WarmUp;
    if (forcedInline !== null) {
      this.inline = forcedInline.session;
      timing = timeInline(this.inline, layout, layout.inputWidth, this.config.maxBatch);
      warmup = inlineWarmUp(timing);
    } else {
      warmup = await this.warmUp(layout.inputWidth);
      this.lifecycle.throwIfDisposed();
      // A single row already over a whole batch's allowance settles it: no full batch is tried (for a
      // slow model that would take maxBatch times as long).
      if (
        this.config.placement === 'auto' &&
        bytes.byteLength <= INLINE_MAX_FILE_BYTES &&
        warmup.inferenceP95 <= INLINE_MAX_BATCH_MS
      ) {
        const batchP95Ms = await this.fullBatchOnWorkers(layout.inputWidth);
        this.lifecycle.throwIfDisposed();
        if (batchP95Ms <= INLINE_MAX_BATCH_MS) {
          const session = this.loadInline(bytes).session;
          timing = timeInline(session, layout, layout.inputWidth, this.config.maxBatch);
          this.inline = session;
          warmup = inlineWarmUp(timing);
          await this.removeFromPool();
          this.lifecycle.throwIfDisposed();
        } else {
          timing = { singleP50Ms: warmup.inferenceP50, singleP95Ms: warmup.inferenceP95, batchP95Ms };
        }
      }
    }
    const info: ModelInfo = {
      name,
      runtime: `onnxruntime-node ${runtimeVersion}`,
      sha256,
      inputs,
      outputs,
      inputWidth: layout.inputWidth,
      ...(layout.rowTensors.length > 1 ? { inputTensors: layout.rowTensors } : {}),
      outputWidth: layout.outputWidth,
      labels,
      warmupP50Ms: warmup.p50,
      warmupP95Ms: warmup.p95,
    };
    this.logger.info(
      {
        sha256: sha256.slice(0, SHA_PREFIX),
        placement: this.placement,
        ...(timing === null
          ? {}
          : { fullBatchP95Ms: round(timing.batchP95Ms), maxBatch: this.config.maxBatch }),
        workers: this.inline === null ? this.config.workers : 0,
        threads: this.config.threads,
        inputWidth: layout.inputWidth,
        outputWidth: layout.outputWidth,
        ...(inputNames === null ? {} : { inputNames }),
        warmupP50Ms: round(warmup.p50),
        warmupP95Ms: round(warmup.p95),
        inferenceP50Ms: round(warmup.inferenceP50),
      },
      'model loaded',
    );
    return info;
  }

  /** A session on the main thread (the inline placement). Blocks while ONNX Runtime builds it. */
  private loadInline(bytes: Uint8Array): { session: NativeSession; metadata: SessionMetadata } {
    let session: NativeSession;
    try {
      session = NativeSession.create(bytes, { intraOpThreads: this.config.threads });
    } catch (error) {
      throw new ModelError(
        ErrorCodes.MODEL_LOAD,
        `${this.label}: ONNX Runtime could not load it: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return {
      session,
      metadata: {
        inputs: [...session.inputs],
        outputs: [...session.outputs],
        runtimeVersion: NativeSession.runtimeVersion,
      },
    };
  }

  private async loadOnWorkers(bytes: Uint8Array): Promise<SessionMetadata> {
    this.pooled = this.pool.add({
      name: this.config.name,
      workers: this.config.workers,
      intraOpThreads: this.config.threads,
      modelBytes: bytes,
      queueLimit: this.config.workers * QUEUE_PER_WORKER,
    });
    return this.pooled.loaded;
  }

  /**
   * p95 of the runtime's own time for a full batch (`maxBatch` zero rows) on a worker, the hop excluded:
   * what the batch would cost inline. Stops early once two runs are over INLINE_MAX_BATCH_MS.
   */
  private async fullBatchOnWorkers(inputWidth: number): Promise<number> {
    const rows = this.config.maxBatch;
    const times: number[] = [];
    let over = 0;
    // The first run of a new size allocates; it is not counted.
    for (let i = 0; i <= INLINE_PROBE_RUNS && over < 2; i += 1) {
      const { inferenceMs } = await this.submit(new Float32Array(rows * inputWidth), rows);
      if (i === 0) continue;
      times.push(inferenceMs);
      if (inferenceMs > INLINE_MAX_BATCH_MS) over += 1;
    }
    return over >= 2 ? Math.max(...times) : percentile(times, 0.95);
  }

  /**
   * Single-row zero runs, one per worker at a time, up to WARMUP_RUNS or WARMUP_BUDGET_MS. The first round
   * (lazy allocation, cold caches) is dropped; the rest give the round-trip latency a caller sees, message
   * passing included.
   */
  private async warmUp(inputWidth: number): Promise<WarmUp> {
    const roundTrips: number[] = [];
    const inference: number[] = [];
    const workers = this.config.workers;
    const deadline = performance.now() + WARMUP_BUDGET_MS;
    for (let done = 0; done < WARMUP_RUNS + workers; done += workers) {
      if (done > workers && performance.now() > deadline) break;
      const results = await Promise.all(
        Array.from({ length: workers }, async () => {
          const started = performance.now();
          const result = await this.submit(new Float32Array(inputWidth), 1);
          return { ms: performance.now() - started, inferenceMs: result.inferenceMs };
        }),
      );
      if (done === 0) continue;
      for (const result of results) {
        roundTrips.push(result.ms);
        inference.push(result.inferenceMs);
      }
    }
    return {
      p50: percentile(roundTrips, 0.5),
      p95: percentile(roundTrips, 0.95),
      inferenceP50: percentile(inference, 0.5),
      inferenceP95: percentile(inference, 0.95),
    };
  }

  private async submit(input: Float32Array, rows: number): Promise<ModelResult> {
    const layout = this.checkRun(input, rows);
    const result = await this.pool.run(this.pooled!.key, input, rows, layout);
    this.checkOutputs(result.outputs, rows, layout);
    return result;
  }

  private checkRun(input: Float32Array, rows: number): OnnxRunLayout {
    const layout = this.layout!;
    if (!Number.isInteger(rows) || rows < 1 || rows > this.config.maxBatch) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `${this.label}: rows must be 1..${this.config.maxBatch}, got ${rows}`,
      );
    }
    if (!(input instanceof Float32Array) || input.length !== rows * layout.inputWidth) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `${this.label}: input must be a Float32Array of ${rows} × ${layout.inputWidth} values`,
      );
    }
    return layout;
  }

  private checkOutputs(outputs: Float32Array, rows: number, layout: OnnxRunLayout): Float32Array {
    const expected = rows * layout.outputWidth;
    if (outputs.length !== expected) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `${this.label}: expected ${expected} output values for ${rows} rows, got ${outputs.length}`,
      );
    }
    return outputs;
  }
}

/**
 * Input names from the model card's `inputs` (names, or objects with a `name`), for the load log and a
 * width check; null when there is no card or it lists none. readModelCardLabels has already refused a
 * card that cannot be read or parsed.
 */
async function readModelCardInputNames(file: string): Promise<string[] | null> {
  let card: unknown;
  try {
    card = JSON.parse(await readFile(`${file.replace(/\.onnx$/i, '')}.json`, 'utf8'));
  } catch {
    return null;
  }
  const inputs = (card as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return null;
  const names = inputs.map((input: unknown) =>
    typeof input === 'string' ? input : (input as { name?: unknown } | null)?.name,
  );
  return names.every((name): name is string => typeof name === 'string') ? names : null;
}

interface WarmUp {
  /** Round trips a caller sees, single rows, ms. */
  p50: number;
  p95: number;
  /** The runtime's own time, single rows, ms. */
  inferenceP50: number;
  inferenceP95: number;
}

/** Inline, a caller waits for the run and nothing else. */
function inlineWarmUp(timing: InlineTiming): WarmUp {
  return {
    p50: timing.singleP50Ms,
    p95: timing.singleP95Ms,
    inferenceP50: timing.singleP50Ms,
    inferenceP95: timing.singleP95Ms,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
