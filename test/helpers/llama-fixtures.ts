/**
 * Shared pieces of the LLM tests: the tiny GGUF (written once per test process into a temp dir; ~70 KB, a
 * few milliseconds), a llama model config slice, and a transaction-triage prompt pipeline over it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaModelConfig, ModelConfig, PromptConfig } from '../../daemon/config.js';
import { writeGgufTestModel } from '../../tools/dev/gguf-test-model.js';
import type { SpawnOptions } from './gateway-process.js';

export interface TinyGguf {
  path: string;
  sha256: string;
}

let tiny: Promise<TinyGguf> | undefined;

/** The tiny R1-vocabulary qwen2 model, shared by the tests of one process; removed when it exits. */
export function tinyGguf(): Promise<TinyGguf> {
  tiny ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-gguf-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'tiny-r1.gguf');
    const { sha256 } = await writeGgufTestModel(path, { shape: 'tiny', seed: 7 });
    return { path, sha256 };
  })();
  return tiny;
}

/** Labels whose first byte (= first token in the byte-level test vocabulary) differs. */
export const TRIAGE_LABELS = ['accept', 'review', 'decline'];

export const triagePrompt = (overrides: Partial<PromptConfig> = {}): PromptConfig => ({
  mode: 'classify',
  system: 'You triage card transactions. Answer with one word: accept, review or decline.',
  template: 'Amount {amount} {currency}, {hour}h, {distanceKm} km from home, card present: {cardPresent}.',
  labels: TRIAGE_LABELS,
  maxPromptTokens: 96,
  maxAnswerTokens: 64,
  thoughtTokens: 0,
  ...overrides,
});

export const llamaModelConfig = (
  path: string,
  overrides: Omit<Partial<ModelConfig>, 'llama'> & { llama?: Partial<LlamaModelConfig> } = {},
): ModelConfig => ({
  name: 'triage-llm',
  runtime: 'llama',
  path,
  sha256: null,
  threads: 1,
  workers: 1,
  placement: 'workers',
  maxBatch: 1,
  ...overrides,
  llama: { device: 'cpu', contextSize: 512, batchSize: 128, gpuLayers: 0, sequences: 2, ...overrides.llama },
});

export function triageEvent(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, amount: 120.5, currency: 'EUR', hour: 14, distanceKm: 2.1, cardPresent: true, ...overrides };
}

/** A pipeline entry (config file form) on the `llm` model, subscribing `tx/+/in`, publishing `tx/{1}/out`. */
export function triagePipeline(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { prompt, ...rest } = overrides;
  return {
    name: 'triage',
    subscribe: 'tx/+/in',
    publish: 'tx/{1}/out',
    model: 'llm',
    budgetMs: 2000,
    fallback: 'review',
    prompt: { ...triagePrompt(), ...(prompt as object | undefined) },
    ...rest,
  };
}

/** The model entry (config file form) for `triagePipeline`. */
export function llmModelEntry(path: string, llama: Record<string, unknown> = {}): Record<string, unknown> {
  return { runtime: 'llama', path, threads: 1, llama: { contextSize: 512, sequences: 2, ...llama } };
}

/** Start-up includes the llama runtime, the model and its warm-up: allow more than the ONNX tests do. */
export const llmStartup: SpawnOptions = { readyTimeoutMs: 40_000 };
