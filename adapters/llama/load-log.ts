/** The one `model loaded` line of a llama model: what was loaded, how, and what its warm-up measured. */
import type { ModelConfig } from '../../daemon/config.js';
import type { Logger } from '../../daemon/ports.js';
import { SHA_PREFIX } from '../model-runner/index.js';
import type { LlamaPipeline } from './pipeline.js';
import type { LlamaPromptLayout } from './prompt-layout.js';
import type { WarmupResult } from './warmup.js';

export interface LlamaLoadDetails {
  sha256: string;
  device: string;
  gpuLayers: number;
  model: ModelConfig;
  pipeline: LlamaPipeline;
  layout: LlamaPromptLayout;
  warmup: WarmupResult;
  primedTokens: number;
  prefixCache: boolean;
  /** Longest prompt that finishes within the budget, when shorter than maxPromptTokens. */
  fitTokens: number | null;
  loadMs: number;
}

export function logLlamaLoaded(logger: Logger, details: LlamaLoadDetails): void {
  const { model, pipeline, layout, warmup, fitTokens } = details;
  const prompt = pipeline.prompt;
  const llama = model.llama!;
  logger.info(
    {
      sha256: details.sha256.slice(0, SHA_PREFIX),
      device: details.device,
      gpuLayers: details.gpuLayers,
      threads: model.threads,
      contextSize: llama.contextSize,
      batchSize: llama.batchSize,
      sequences: llama.sequences,
      mode: prompt.mode,
      chatTemplate: layout.chatWrapper,
      thinking: layout.thinks
        ? layout.thought === null
          ? 'disabled'
          : `≤ ${prompt.thoughtTokens} tokens`
        : 'n/a',
      prefixTokens: layout.prefix.length,
      primedTokens: details.primedTokens,
      typicalPromptTokens: warmup.typicalTokens,
      prefixCache: details.prefixCache,
      warmupRuns: warmup.runs,
      warmupP50Ms: round(warmup.p50Ms),
      warmupP95Ms: round(warmup.p95Ms),
      maxPromptMs: warmup.longestMs === null ? null : round(warmup.longestMs),
      loadMs: Math.round(details.loadMs),
    },
    'model loaded',
  );
  if (fitTokens !== null) {
    logger.warn(
      {
        pipeline: pipeline.name,
        budgetMs: pipeline.budgetMs,
        maxPromptTokens: prompt.maxPromptTokens,
        fitTokens,
        maxPromptMs: round(warmup.longestMs!),
      },
      'prompts longer than fitTokens cannot finish within the budget: they are answered overload',
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
