/**
 * The model card: a sidecar `<model>.json` next to `<model>.onnx`. The gateway reads `labels` from it
 * (adapters/model-runner/model-file.ts) and checks `inputs` against the model's input width; `infergate eval` reads
 * `inputs` (which data columns feed the model, in order), `labels`/`classes` and the decision bands.
 * The sample models' cards carry everything below; a card for a model of your own needs only what you use.
 */
import { readFile } from 'node:fs/promises';
import { imageSpecProblems, type ImagePreprocessSpec } from '../../adapters/decoders/image/preprocess.js';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';

/** How an image becomes the model's input (the image decoder's settings, without the gateway's pixel limit). */
export type CardPreprocessing = Omit<ImagePreprocessSpec, 'maxInputPixels'>;

export interface CardInput {
  /** Data field: a dotted path, or `path=value` for one-hot inputs (the pipeline mapping's names). */
  name: string;
  unit: string;
  description?: string;
  /** Applied inside the graph before normalization. */
  transform?: 'log1p' | 'none';
  /** Training-split statistics of the (transformed) input, baked into the graph's normalization. */
  mean?: number;
  std?: number;
}

export interface VariantMetrics {
  file: string;
  sha256: string;
  bytes: number;
  /** ROC-AUC (binary) or macro F1 (multi-class). */
  headline: number;
  accuracy: number;
  macroF1: number;
  rocAuc?: number;
  averagePrecision?: number;
  perClass: { name: string; precision: number; recall: number; f1: number; support: number }[];
  atBands?: { threshold: number; flaggedRate: number; precision: number; recall: number }[];
  /** Against FP32; absent on FP32 itself. */
  retention?: number;
  agreement?: number;
  latencyP50Ms?: number;
}

export interface ModelCard {
  name: string;
  task: 'binary-classification' | 'multiclass-classification';
  description: string;
  /** This file's weights. */
  variant: 'fp32' | 'int8' | 'int4';
  file: string;
  bytes: number;
  sha256: string;
  input: { name: string; type: 'float32'; shape: [string, number] };
  inputs: CardInput[];
  output: { name: string; type: 'float32'; shape: [string, number] };
  /** Multi-class: one per output, in order (the gateway checks the count). */
  labels?: string[];
  /** Binary: names of class 0 and class 1 (the output is the probability of class 1). */
  classes?: [string, string];
  /** Suggested pipeline decision rule, in config syntax. */
  decide: Record<string, unknown>;
  quantization: Record<string, unknown> | null;
  training: Record<string, unknown>;
  metrics: {
    split: string;
    data: string;
    rows: number;
    headline: 'rocAuc' | 'macroF1';
    fp32: VariantMetrics;
    int8: VariantMetrics;
    int4: VariantMetrics;
  };
  generatedBy: string;
  seed: number;
}

/**
 * The card of an image model: instead of named input fields, how a picture becomes the input tensor
 * (`preprocessing`, the image decoder's settings); FP32 and INT8 variants.
 */
export interface ImageModelCard extends Omit<ModelCard, 'variant' | 'input' | 'inputs' | 'metrics'> {
  variant: 'fp32' | 'int8';
  input: { name: string; type: 'float32'; shape: [string, number, number, number] };
  preprocessing: CardPreprocessing;
  metrics: Omit<ModelCard['metrics'], 'int4'>;
}

/** What a tool can use from any card (ours or a user's): every field optional, types checked. */
export interface CardHints {
  file: string;
  inputs: string[] | null;
  labels: string[] | null;
  classes: [string, string] | null;
  bands: number[] | null;
  preprocessing: CardPreprocessing | null;
}

export function cardPathFor(modelFile: string): string {
  return `${modelFile.replace(/\.onnx$/i, '')}.json`;
}

/** Reads a card; null when `required` is false and there is none. Invalid JSON is IG_ERR_TOOL_INPUT. */
export async function readCardHints(file: string, required: boolean): Promise<CardHints | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `cannot read model card ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch (error) {
    throw new InfergateError(ErrorCodes.TOOL_INPUT, `model card ${file} is not valid JSON`, { cause: error });
  }
  if (typeof card !== 'object' || card === null) {
    throw new InfergateError(ErrorCodes.TOOL_INPUT, `model card ${file} is not a JSON object`);
  }
  const c = card as Record<string, unknown>;
  const strings = (value: unknown): string[] | null =>
    Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')
      ? (value as string[])
      : null;
  const inputs = Array.isArray(c.inputs)
    ? strings(
        c.inputs.map((i: unknown) => (typeof i === 'string' ? i : (i as { name?: unknown } | null)?.name)),
      )
    : null;
  const classes = strings(c.classes);
  const threshold = (c.decide as { threshold?: { bands?: unknown } } | undefined)?.threshold;
  const bands = Array.isArray(threshold?.bands)
    ? threshold.bands
        .map((b: unknown) => (b as { min?: unknown } | null)?.min)
        .filter((m): m is number => typeof m === 'number')
        .sort((a, b) => a - b)
    : null;
  return {
    file,
    inputs,
    preprocessing: preprocessingOf(file, c.preprocessing),
    labels: strings(c.labels),
    classes: classes !== null && classes.length === 2 ? [classes[0]!, classes[1]!] : null,
    bands: bands !== null && bands.length > 0 ? bands : null,
  };
}

function preprocessingOf(file: string, value: unknown): CardPreprocessing | null {
  if (value === undefined || value === null) return null;
  const spec = { maxInputPixels: 1, ...(value as object) } as ImagePreprocessSpec;
  const problems = typeof value === 'object' ? imageSpecProblems(spec) : [['', 'must be an object']];
  if (problems.length > 0) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `model card ${file}: preprocessing: ${problems.map(([k, m]) => `${k} ${m}`).join('; ')}`,
    );
  }
  const { maxInputPixels: _limit, ...rest } = spec;
  return rest;
}
