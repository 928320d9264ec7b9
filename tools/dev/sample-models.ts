/**
 * The shipped sample models, end to end: synthetic data (fixed seeds) → MLP trained in TypeScript →
 * FP32 ONNX with the preprocessing in the graph → `infergate quantize` to INT8 and INT4 → every variant
 * scored on the test split by onnxruntime, as the gateway runs it → model cards.
 *
 * models/<name>.onnx is the INT4 model (the one config/default.yaml loads), next to <name>.fp32.onnx and
 * <name>.int8.onnx, a card for each, and the test split in models/data/<name>.test.csv. Everything but the
 * measured metrics is pure JavaScript arithmetic from fixed seeds, so it is the same bytes everywhere;
 * the metrics come from onnxruntime's CPU kernels, rounded to 4 decimals.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatCsv } from '../common/csv.js';
import { compare, modelMetrics, type ModelMetrics, type Scoring } from '../eval/eval-report.js';
import { openModel } from '../eval/eval-run.js';
import { quantizeInt4 } from '../onnx-format/matmul-nbits.js';
import { BATCH_DIM, buildMlpModel, type MlpReference } from '../train/mlp-model.js';
import type { ImageModelCard, ModelCard, VariantMetrics } from '../common/model-card.js';
import { onnx } from '../onnx-format/onnx.js';
import { quantizeModel } from '../quantize/quantize-model.js';
import { featureMatrix } from '../eval/record-features.js';
import { sampleDataset, type SampleDataset } from './sample-datasets.js';
import { SAMPLE_MODEL_SPECS, type SampleModelSpec } from './sample-model-specs.js';
import { trainSampleModel, type TrainedSample } from './sample-training.js';

export const GENERATED_BY = 'tools/dev/make-sample-models.ts';
export const DATA_DIR = 'data';
export const VARIANTS = ['fp32', 'int8', 'int4'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface SampleModel {
  spec: SampleModelSpec;
  dataset: SampleDataset;
  trained: TrainedSample;
  fp32: Uint8Array;
  int8: Uint8Array;
  /** The shipped model: INT4. */
  onnx: Uint8Array;
  /** The INT4 network in JavaScript, with the weights the runtime multiplies by. */
  reference: MlpReference;
}

export function variantFile(name: string, variant: Variant): string {
  return variant === 'int4' ? `${name}.onnx` : `${name}.${variant}.onnx`;
}

export function dataFile(name: string): string {
  return `${DATA_DIR}/${name}.test.csv`;
}

/** Data, training, FP32 export and quantization (no onnxruntime: synchronous and deterministic). */
export function buildSampleModel(spec: SampleModelSpec): SampleModel {
  const dataset = sampleDataset(spec);
  const trained = trainSampleModel(spec, dataset);
  const { model, reference: fp32Reference } = buildMlpModel({
    graphName: spec.name,
    docString: spec.description,
    inputName: spec.inputName,
    outputName: spec.outputName,
    logInputs: trained.logInputs,
    normalization: { mean: trained.mean, std: trained.std },
    layers: trained.layers,
    int4BlockSize: null,
    metadata: [
      { key: 'infergate.model', value: spec.name },
      { key: 'infergate.seed', value: String(spec.seed) },
    ],
  });
  const fp32 = onnx.ModelProto.encode(model).finish();
  const quantize = (bits: 4 | 8): Uint8Array =>
    quantizeModel(fp32, { bits, blockSize: spec.blockSize, minSize: 0, exclude: [], accuracyLevel: null })
      .bytes;
  const reference: MlpReference = {
    ...fp32Reference,
    layers: fp32Reference.layers.map((layer) => ({
      ...layer,
      weights: quantizeInt4(layer.weights, layer.inputs, layer.outputs, spec.blockSize).dequantized,
    })),
  };
  return { spec, dataset, trained, fp32, int8: quantize(8), onnx: quantize(4), reference };
}

export function buildSampleModels(): SampleModel[] {
  return SAMPLE_MODEL_SPECS.map(buildSampleModel);
}

export function testSplitCsv(sample: SampleModel): string {
  const { dataset } = sample;
  return formatCsv(
    dataset.columns,
    dataset.records.filter((_, i) => dataset.splits[i] === 'test'),
  );
}

function scoringFor(spec: SampleModelSpec): Scoring {
  if (spec.outputWidth === 1) {
    const bands = (spec.decide.threshold as { bands: { min: number }[] }).bands.map((b) => b.min);
    return {
      task: { kind: 'binary', classes: spec.classes ?? ['0', '1'] },
      threshold: 0.5,
      bands: bands.sort((a, b) => a - b),
    };
  }
  return { task: { kind: 'multiclass', classes: spec.labels ?? [] }, threshold: 0.5, bands: [] };
}

export const round4 = (value: number): number => Math.round(value * 1e4) / 1e4;

export function rounded(metrics: ModelMetrics, file: string, bytes: Uint8Array): VariantMetrics {
  return {
    file,
    sha256: sha256(bytes),
    bytes: bytes.length,
    headline: round4(metrics.headline.value),
    accuracy: round4(metrics.accuracy),
    macroF1: round4(metrics.macroF1),
    ...(metrics.rocAuc === null ? {} : { rocAuc: round4(metrics.rocAuc) }),
    ...(metrics.averagePrecision === null ? {} : { averagePrecision: round4(metrics.averagePrecision) }),
    perClass: metrics.perClass.map((c) => ({
      name: c.name,
      precision: round4(c.precision),
      recall: round4(c.recall),
      f1: round4(c.f1),
      support: c.support,
    })),
    ...(metrics.atBands.length === 0
      ? {}
      : {
          atBands: metrics.atBands.map((b) => ({
            threshold: b.threshold,
            flaggedRate: round4(b.flaggedRate),
            precision: round4(b.precision),
            recall: round4(b.recall),
          })),
        }),
  };
}

/** Scores every variant on the test split with onnxruntime (one thread, batch 1, as the gateway runs). */
export async function measureSampleModel(sample: SampleModel): Promise<Record<Variant, VariantMetrics>> {
  const { spec, dataset } = sample;
  const rows = dataset.splits.flatMap((s, i) => (s === 'test' ? [i] : []));
  const features = Float32Array.from(
    featureMatrix(
      rows.map((i) => dataset.records[i]!),
      spec.features.map((f) => f.name),
    ),
  );
  const labels = Uint8Array.from(rows, (i) => dataset.labels[i]!);
  const scoring = scoringFor(spec);
  const measured = {} as Record<Variant, { outputs: Float32Array; metrics: ModelMetrics }>;
  for (const variant of VARIANTS) {
    const file = variantFile(spec.name, variant);
    const model = await openModel(file, bytesOf(sample, variant), 1);
    try {
      const run = await model.run(features, rows.length, 1);
      measured[variant] = { outputs: run.outputs, metrics: modelMetrics(run.outputs, labels, scoring) };
    } finally {
      await model.close();
    }
  }
  const result = {} as Record<Variant, VariantMetrics>;
  for (const variant of VARIANTS) {
    const file = variantFile(spec.name, variant);
    const metrics = rounded(measured[variant].metrics, file, bytesOf(sample, variant));
    if (variant !== 'fp32') {
      const c = compare(measured[variant], measured.fp32, scoring);
      metrics.retention = round4(c.retention);
      metrics.agreement = round4(c.agreement);
    }
    result[variant] = metrics;
  }
  return result;
}

function bytesOf(sample: SampleModel, variant: Variant): Uint8Array {
  return variant === 'fp32' ? sample.fp32 : variant === 'int8' ? sample.int8 : sample.onnx;
}

export function sampleModelCard(
  sample: SampleModel,
  variant: Variant,
  metrics: Record<Variant, VariantMetrics>,
): ModelCard {
  const { spec, dataset, trained } = sample;
  const bytes = bytesOf(sample, variant);
  const testRows = dataset.splits.filter((s) => s === 'test').length;
  const classNames = spec.labels ?? spec.classes ?? [];
  const splitCounts = Object.fromEntries(
    (['train', 'validation', 'test'] as const).map((split) => {
      const counts = Object.fromEntries(classNames.map((name) => [name, 0]));
      dataset.splits.forEach((s, i) => {
        if (s === split) counts[classNames[dataset.labels[i]!]!]!++;
      });
      return [split, { rows: trained.rows[split], ...counts }];
    }),
  );
  const t = spec.training;
  return {
    name: spec.name,
    task: spec.task,
    description: spec.description,
    variant,
    file: variantFile(spec.name, variant),
    bytes: bytes.length,
    sha256: sha256(bytes),
    input: { name: spec.inputName, type: 'float32', shape: [BATCH_DIM, spec.features.length] },
    inputs: spec.features.map((feature, i) => ({
      name: feature.name,
      unit: feature.unit,
      transform: feature.transform ?? 'none',
      mean: round6(trained.mean[i]!),
      std: round6(trained.std[i]!),
    })),
    output: { name: spec.outputName, type: 'float32', shape: [BATCH_DIM, spec.outputWidth] },
    ...(spec.labels === null ? {} : { labels: [...spec.labels] }),
    ...(spec.classes === null ? {} : { classes: [spec.classes[0], spec.classes[1]] }),
    decide: spec.decide,
    quantization:
      variant === 'fp32'
        ? null
        : variant === 'int8'
          ? {
              weights: 'int8',
              operator: 'DequantizeLinear (per output channel) + MatMul',
              zeroPoint: 0,
              symmetric: true,
              tool: `infergate quantize ${variantFile(spec.name, 'fp32')} ${variantFile(spec.name, 'int8')} --bits 8`,
            }
          : {
              weights: 'int4',
              operator: 'com.microsoft MatMulNBits',
              blockSize: spec.blockSize,
              zeroPoint: 8,
              symmetric: true,
              tool:
                `infergate quantize ${variantFile(spec.name, 'fp32')} ${variantFile(spec.name, 'int4')} ` +
                `--bits 4 --block-size ${spec.blockSize}`,
            },
    training: {
      data: dataset.description,
      generator: dataset.generator,
      dataSeed: dataset.seed,
      splits: splitCounts,
      network: `MLP ${[spec.features.length, ...spec.hidden, spec.outputWidth].join('-')}, ReLU, ${
        spec.outputWidth === 1 ? 'sigmoid' : 'softmax'
      } output; log1p and standardization inside the graph`,
      trainer: 'tools/train/train-mlp.ts',
      optimizer: `Adam, learning rate ${t.learningRate} decaying linearly to a tenth, batch ${t.batchSize}, weight decay ${t.weightDecay}`,
      loss:
        spec.outputWidth === 1
          ? `binary cross-entropy, class 1 rows weighted ${t.positiveWeight ?? 1}x`
          : `cross-entropy with label smoothing ${t.labelSmoothing ?? 0}`,
      ...(t.monotone === undefined ? {} : { monotoneIn: [...t.monotone.features] }),
      epochs: t.epochs,
      ...(t.int4FineTuning === undefined
        ? {}
        : {
            int4FineTuning: `${t.int4FineTuning.epochs} more epochs at learning rate ${t.int4FineTuning.learningRate} with INT4-rounded weights in the forward pass (straight-through); the FP32 file holds the fine-tuned float weights`,
          }),
      bestEpoch: trained.bestEpoch,
      selectedBy: `validation ${spec.outputWidth === 1 ? 'ROC-AUC' : 'macro F1'}`,
    },
    metrics: {
      split: 'test',
      data: dataFile(spec.name),
      rows: testRows,
      headline: spec.outputWidth === 1 ? 'rocAuc' : 'macroF1',
      fp32: metrics.fp32,
      int8: metrics.int8,
      int4: metrics.int4,
    },
    generatedBy: GENERATED_BY,
    seed: spec.seed,
  };
}

export function modelCardJson(card: ModelCard | ImageModelCard): string {
  return `${JSON.stringify(card, null, 2)}\n`;
}

export interface WrittenModel {
  name: string;
  files: string[];
  metrics: Record<Variant, VariantMetrics>;
}

/** Writes every variant, its card and the test-split data of every sample model into `outDir`. */
export async function writeSampleModels(outDir: string): Promise<WrittenModel[]> {
  await mkdir(path.join(outDir, DATA_DIR), { recursive: true });
  const written: WrittenModel[] = [];
  for (const spec of SAMPLE_MODEL_SPECS) {
    const sample = buildSampleModel(spec);
    const metrics = await measureSampleModel(sample);
    const files: string[] = [];
    const put = async (name: string, content: Uint8Array | string): Promise<void> => {
      await writeFile(path.join(outDir, name), content);
      files.push(name);
    };
    for (const variant of VARIANTS) {
      const onnx = variantFile(spec.name, variant);
      await put(onnx, bytesOf(sample, variant));
      await put(onnx.replace(/\.onnx$/, '.json'), modelCardJson(sampleModelCard(sample, variant, metrics)));
    }
    await put(dataFile(spec.name), testSplitCsv(sample));
    written.push({ name: spec.name, files, metrics });
  }
  return written;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
