/**
 * GGUF LLM runner (node-llama-cpp) for one prompt pipeline: the event's rendered user message goes in, a
 * label distribution comes out (`classify`: one forward pass; `generate`: a grammar-constrained JSON answer,
 * one-hot, with the model's reason). llama.cpp evaluates on its own native threads, so the event loop that
 * serves MQTT and the deadline timers is never blocked by inference.
 *
 * The context holds `llama.sequences` sequences: that many events are evaluated at once (in one batch), each
 * on its own sequence whose KV cache keeps the pipeline's system prompt, so an event only evaluates its own
 * tokens. The file is hashed before loading and checked unchanged after, so what runs is what was verified.
 */
import type { LlamaContext, Token } from 'node-llama-cpp';
import type { LlamaModelConfig, ModelConfig, PromptConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, InputError, ModelError } from '../../daemon/errors.js';
import type { Logger, ModelInfo, ModelInput, ModelResult, ModelRunner } from '../../daemon/ports.js';
import { llamaConfigProblems } from './config-problems.js';
import type { LlamaPipeline } from './pipeline.js';
import { primeSequence } from './prefix-reuse.js';
import {
  assertPromptFits,
  buildPromptLayout,
  labelFirstTokens,
  type LlamaPromptLayout,
} from './prompt-layout.js';
import { acquireLlamaRuntime, type LlamaModelLease, type LlamaRuntimeLease } from './runtime.js';
import { SequencePool } from './sequence-pool.js';
import { createSequenceWorkers, type LlamaSequenceWorker } from './sequence-worker.js';
import { PromptTokenCache } from './token-cache.js';
import { warmUpLlama, warmupPrompts, type WarmupResult } from './warmup.js';
import { ModelLifecycle, modelFileStamp, verifyModelPath } from '../model-runner/index.js';
import { logLlamaLoaded } from './load-log.js';

/** Rendered prompts tokenized at intake (checkInput) and kept for their run. */
const TOKEN_CACHE_ENTRIES = 256;

export interface LlamaModelDeps {
  logger: Logger;
  model: ModelConfig;
  /** Null when no pipeline uses the model: it is then never loaded. */
  pipeline: LlamaPipeline | null;
  /** Off: every event evaluates its whole prompt (the benchmark's baseline). Default on. */
  prefixCache?: boolean;
  /** Warm-up size: typical runs and a time limit (at least 5 runs). Defaults: 20 runs, 5 s. */
  warmup?: { runs?: number; timeLimitMs?: number };
}

export interface LlamaModelStats {
  runs: number;
  /** Tokens evaluated by runs (the warm-up included), and tokens whose KV cache they reused. */
  evaluatedTokens: number;
  reusedTokens: number;
  /** Tokens evaluated to put the system prefix into the sequences' KV caches (once per sequence). */
  primedTokens: number;
  prefixTokens: number;
}

/** Validates the config slice (ConfigError if invalid) and does no I/O; `load()` does that. */
export function createLlamaModel(deps: LlamaModelDeps): LlamaModelRunner {
  const problems = llamaConfigProblems(deps.model, deps.pipeline);
  if (problems.length > 0) throw new ConfigError(problems);
  return new LlamaModelRunner(
    deps.logger.child({ component: 'llama-model', model: deps.model.name }),
    deps.model,
    deps.model.llama!,
    deps.pipeline,
    deps.prefixCache ?? true,
    { runs: deps.warmup?.runs ?? 20, timeLimitMs: deps.warmup?.timeLimitMs ?? 5000 },
    new AbortController(),
  );
}

export class LlamaModelRunner implements ModelRunner {
  readonly inputKind = 'text' as const;
  /** Generation stops at the deadline; a classify pass checks the signal before it starts. */
  readonly cancellable = true;
  private readonly lifecycle: ModelLifecycle;
  private runtime: LlamaRuntimeLease | null = null;
  private modelLease: LlamaModelLease | null = null;
  private context: LlamaContext | null = null;
  private layout: LlamaPromptLayout | null = null;
  private pool: SequencePool<LlamaSequenceWorker> | null = null;
  private fitTokens: number | null = null;
  private readonly tokenCache = new PromptTokenCache(TOKEN_CACHE_ENTRIES);
  private readonly counters: LlamaModelStats = {
    runs: 0,
    evaluatedTokens: 0,
    reusedTokens: 0,
    primedTokens: 0,
    prefixTokens: 0,
  };

  constructor(
    private readonly logger: Logger,
    private readonly config: ModelConfig,
    private readonly llama: LlamaModelConfig,
    private readonly pipeline: LlamaPipeline | null,
    private readonly prefixCache: boolean,
    private readonly warmupSize: { runs: number; timeLimitMs: number },
    closing: AbortController,
  ) {
    this.lifecycle = new ModelLifecycle(
      `model ${config.name}`,
      logger,
      {
        load: () => this.loadSteps(),
        // Runs waiting for a sequence end at once; load steps and runs notice the abort at their next
        // step (generation within one token).
        close: (closed) => this.pool?.close(closed),
        release: () => this.releaseResources(),
      },
      closing,
    );
  }

  get concurrency(): number {
    return this.llama.sequences;
  }

  get info(): ModelInfo {
    return this.lifecycle.info;
  }

  stats(): LlamaModelStats {
    return { ...this.counters };
  }

  load(): Promise<ModelInfo> {
    return this.lifecycle.load();
  }

  /** Intake check: a prompt over `maxPromptTokens` is invalid input, answered at once. */
  checkInput(input: string): void {
    if (this.lifecycle.state !== 'ready') return;
    const tokens = this.userTokens(input);
    const limit = this.prompt.maxPromptTokens;
    if (tokens.length > limit) {
      throw new InputError(
        ErrorCodes.INPUT_PROMPT_TOO_LONG,
        `the rendered prompt is ${tokens.length} tokens, more than prompt.maxPromptTokens (${limit})`,
      );
    }
    this.tokenCache.remember(input, tokens);
  }

  run(input: ModelInput, rows: number, signal?: AbortSignal): Promise<ModelResult> {
    const refusal = this.lifecycle.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (
      input instanceof Float32Array ||
      !Array.isArray(input) ||
      input.length !== rows ||
      rows < 1 ||
      rows > this.llama.sequences ||
      !input.every((prompt) => typeof prompt === 'string')
    ) {
      return Promise.reject(
        new ModelError(
          ErrorCodes.MODEL_RUN,
          `${this.label} takes 1 to ${this.llama.sequences} prompts (strings) per run, got ${rows}`,
        ),
      );
    }
    const closing = this.lifecycle.signal;
    const stop = signal === undefined ? closing : AbortSignal.any([signal, closing]);
    return this.lifecycle.track(this.runRows(input as readonly string[], stop));
  }

  dispose(): Promise<void> {
    return this.lifecycle.dispose();
  }

  private get label(): string {
    return `model ${this.config.name}`;
  }

  private get prompt(): PromptConfig {
    return this.pipeline!.prompt;
  }

  private async runRows(prompts: readonly string[], signal: AbortSignal): Promise<ModelResult> {
    const started = performance.now();
    const width = this.prompt.labels.length;
    const outputs = new Float32Array(prompts.length * width);
    const explanations: (string | null)[] = [];
    await Promise.all(
      prompts.map(async (prompt, row) => {
        const answer = await this.runOne(prompt, signal);
        outputs.set(answer.probabilities, row * width);
        explanations[row] = answer.explanation;
      }),
    );
    const result: ModelResult = { outputs, inferenceMs: performance.now() - started };
    if (this.prompt.mode === 'generate') result.explanations = explanations;
    return result;
  }

  private async runOne(
    prompt: string,
    signal: AbortSignal,
  ): Promise<{ probabilities: Float32Array; explanation: string | null }> {
    const tokens = this.tokenCache.take(prompt) ?? this.userTokens(prompt);
    if (tokens.length > this.prompt.maxPromptTokens) {
      throw new InputError(
        ErrorCodes.INPUT_PROMPT_TOO_LONG,
        `the rendered prompt is ${tokens.length} tokens, more than prompt.maxPromptTokens (${this.prompt.maxPromptTokens})`,
      );
    }
    if (this.fitTokens !== null && tokens.length > this.fitTokens) {
      throw new ModelError(
        ErrorCodes.MODEL_OVERLOAD,
        `${this.label}: a ${tokens.length}-token prompt cannot finish within ${this.pipeline!.budgetMs} ms ` +
          `(at most ${this.fitTokens} tokens can, measured at start)`,
        { retryable: true },
      );
    }
    const worker = await this.pool!.acquire();
    try {
      return await this.evaluate(worker, tokens, signal);
    } finally {
      this.pool!.release(worker);
    }
  }

  private async evaluate(
    worker: LlamaSequenceWorker,
    tokens: readonly Token[],
    signal: AbortSignal,
  ): Promise<{ probabilities: Float32Array; explanation: string | null }> {
    const started = performance.now();
    const { probabilities, explanation, details } = await worker.answer(tokens, signal);
    this.counters.runs += 1;
    this.counters.evaluatedTokens += details.newTokens;
    this.counters.reusedTokens += details.reusedTokens;
    this.logger.debug({ ...details, ms: round(performance.now() - started) }, 'llm run');
    return { probabilities, explanation };
  }

  private userTokens(prompt: string): Token[] {
    return this.layout!.tokenizeUser(prompt);
  }

  private async loadSteps(): Promise<ModelInfo> {
    const started = performance.now();
    const { name, path: file } = this.config;
    if (this.pipeline === null) {
      throw new ModelError(ErrorCodes.MODEL_SHAPE, `${this.label}: no pipeline uses it, so it has no prompt`);
    }
    const prompt = this.prompt;
    const verified = await verifyModelPath(name, file, this.config.sha256);
    this.lifecycle.throwIfDisposed();
    this.runtime = await acquireLlamaRuntime(this.llama.device, this.logger);
    this.lifecycle.throwIfDisposed();
    const onCpu = this.runtime.device === 'cpu';
    try {
      this.modelLease = await this.runtime.loadModel(file, verified.sha256, onCpu ? 0 : this.llama.gpuLayers);
    } catch (error) {
      throw new ModelError(ErrorCodes.MODEL_LOAD, `${this.label}: llama.cpp could not load ${file}`, {
        cause: error,
      });
    }
    this.lifecycle.throwIfDisposed();
    if ((await modelFileStamp(name, file)) !== verified.stamp) {
      throw new ModelError(ErrorCodes.MODEL_LOAD, `${this.label}: ${file} changed while it was being loaded`);
    }
    const model = this.modelLease.model;
    const layout = buildPromptLayout(model, prompt, this.label);
    const labelTokens = prompt.mode === 'classify' ? labelFirstTokens(model, prompt.labels, this.label) : [];
    const samples = warmupPrompts(layout, prompt);
    assertPromptFits(layout, prompt, this.llama.contextSize, samples.typical.length, this.label);
    this.layout = layout;

    try {
      this.context = await model.createContext({
        contextSize: this.llama.contextSize,
        batchSize: this.llama.batchSize,
        sequences: this.llama.sequences,
        threads: this.config.threads,
        failedCreationRemedy: false,
        createSignal: this.lifecycle.signal,
      });
    } catch (error) {
      this.lifecycle.throwIfDisposed();
      throw new ModelError(
        ErrorCodes.MODEL_LOAD,
        `${this.label}: could not create a context of ${this.llama.sequences} × ${this.llama.contextSize} tokens`,
        { cause: error },
      );
    }
    const workers = await createSequenceWorkers({
      llama: this.runtime.llama,
      model,
      context: this.context,
      layout,
      prompt,
      labelTokens,
      reusePrefix: this.prefixCache,
    });
    const primed = await Promise.all(workers.map((worker) => primeSequence(worker.sequence, layout.prefix)));
    this.counters.primedTokens = primed.reduce((a, b) => a + b, 0);
    this.counters.prefixTokens = layout.prefix.length;
    this.lifecycle.throwIfDisposed();

    const warmup = await this.warmUp(workers[0]!, layout, samples);
    this.lifecycle.throwIfDisposed();
    this.fitTokens =
      warmup.fitTokens !== null && warmup.fitTokens < prompt.maxPromptTokens ? warmup.fitTokens : null;
    this.pool = new SequencePool(workers);
    const runtime = `node-llama-cpp (${this.runtime.device}, llama.cpp ${this.runtime.llama.llamaCppRelease.release})`;
    const info: ModelInfo = {
      name,
      runtime,
      sha256: verified.sha256,
      inputs: [],
      outputs: [{ name: 'labels', type: 'float32', shape: ['batch', prompt.labels.length] }],
      inputWidth: 0,
      outputWidth: prompt.labels.length,
      labels: [...prompt.labels],
      warmupP50Ms: warmup.p50Ms,
      warmupP95Ms: warmup.p95Ms,
    };
    logLlamaLoaded(this.logger, {
      sha256: verified.sha256,
      device: this.runtime.device,
      gpuLayers: model.gpuLayers,
      model: this.config,
      pipeline: this.pipeline!,
      layout,
      warmup,
      primedTokens: this.counters.primedTokens,
      prefixCache: this.prefixCache,
      fitTokens: this.fitTokens,
      loadMs: performance.now() - started,
    });
    return info;
  }

  private warmUp(
    worker: LlamaSequenceWorker,
    layout: LlamaPromptLayout,
    { typical, longest }: { typical: Token[]; longest: Token[] | null },
  ): Promise<WarmupResult> {
    return warmUpLlama({
      run: async (tokens) => {
        // Back to the bare system prefix: a repeated event would otherwise find itself cached whole.
        await primeSequence(worker.sequence, layout.prefix);
        await this.evaluate(worker, tokens, this.lifecycle.signal);
      },
      typical,
      longest,
      tailTokens: layout.tail.length,
      budgetMs: this.pipeline!.budgetMs,
      runs: this.warmupSize.runs,
      timeLimitMs: this.warmupSize.timeLimitMs,
    });
  }

  private async releaseResources(): Promise<void> {
    const context = this.context;
    this.context = null;
    await context?.dispose();
    const model = this.modelLease;
    this.modelLease = null;
    await model?.release();
    const runtime = this.runtime;
    this.runtime = null;
    await runtime?.release();
    this.tokenCache.clear();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
