/**
 * The visual-inspection sample model, end to end: procedurally rendered washer images (part-images.ts,
 * fixed seeds) → a small CNN trained in TypeScript (train-cnn.ts) → FP32 ONNX with real Conv layers →
 * `infergate quantize --bits 8` (INT8 Conv and Gemm weights) → both scored by onnxruntime on a held-out
 * set → model cards.
 *
 * models/visual-inspection.onnx is the INT8 model (the one an inspection pipeline loads), next to
 * visual-inspection.fp32.onnx. No INT4 file: ONNX Runtime has no 4-bit convolution on the CPU, so an INT4
 * rewrite only reaches the final Gemm and is neither smaller nor faster (docs/sample-models.md).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CardPreprocessing, ImageModelCard, VariantMetrics } from '../common/model-card.js';
import { compare, modelMetrics, type ModelMetrics, type Scoring } from '../eval/eval-report.js';
import { openModel } from '../eval/eval-run.js';
import { onnx } from '../onnx-format/onnx.js';
import { quantizeModel } from '../quantize/quantize-model.js';
import { BATCH_DIM, buildCnnModel, type CnnWeights } from './cnn-model.js';
import { PART_IMAGE_SIZE, PART_LABELS, renderPartImages } from './part-images.js';
import { GENERATED_BY, modelCardJson, round4, rounded, sha256 } from './sample-models.js';
import { trainCnn, type CnnTrainResult, type CnnTrainSpec, type ImageSet } from './train-cnn.js';

export const VISUAL_INSPECTION = {
  name: 'visual-inspection',
  description:
    'Camera inspection of stamped washers: probabilities of [good, scratch, missing_hole, dent, ' +
    'contamination] for one 64x64 grayscale frame, trained on procedurally rendered images with lighting, ' +
    'position and size jitter and sensor noise (tools/dev/part-images.ts). Label smoothing (0.05) keeps ' +
    'the probabilities from saturating, so a confidence floor means something.',
  inputName: 'image',
  outputName: 'probabilities',
  seed: 0x1a7e_0e14,
  data: { trainSeed: 0x1a7e_1401, validationSeed: 0x1a7e_1402, testSeed: 0x1a7e_1403 },
  images: { train: 1500, validation: 500, test: 500 },
  training: {
    convChannels: [12, 16, 16],
    pool: 'both' as CnnTrainSpec['pool'],
    inputShift: 0.5,
    inputScale: 4,
    epochs: 16,
    batchSize: 16,
    learningRate: 0.005,
    weightDecay: 1e-4,
    labelSmoothing: 0.05,
  },
} as const;

/** Interface E: what the gateway's image decoder does to a camera frame before this model sees it. */
export const VISUAL_INSPECTION_PREPROCESSING: CardPreprocessing = {
  width: PART_IMAGE_SIZE,
  height: PART_IMAGE_SIZE,
  channels: 1,
  fit: 'contain',
  scale: 1 / 255,
  mean: [0],
  std: [1],
  layout: 'nchw',
};

export const VISUAL_INSPECTION_DECIDE = {
  argmax: {
    labels: [...PART_LABELS],
    decisions: {
      good: 'accept',
      scratch: 'reject',
      missing_hole: 'reject',
      dent: 'reject',
      contamination: 'reject',
    },
    minConfidence: 0.6,
    lowConfidence: 'review',
  },
};

export const visualInspectionFile = (variant: 'fp32' | 'int8'): string =>
  variant === 'int8' ? `${VISUAL_INSPECTION.name}.onnx` : `${VISUAL_INSPECTION.name}.fp32.onnx`;

export interface VisualInspectionModel {
  trained: CnnTrainResult;
  fp32: Uint8Array;
  int8: Uint8Array;
}

/** A rendered set as the model's input: pixel / 255, as the preprocessing gives for an 8-bit PNG. */
export function imageSet(seed: number, count: number): ImageSet {
  const images = renderPartImages(seed, count);
  return { count, x: Float32Array.from(images.pixels, (p) => p / 255), y: images.labels };
}

export function trainSpec(overrides: Partial<CnnTrainSpec> = {}): CnnTrainSpec {
  return {
    channels: 1,
    height: PART_IMAGE_SIZE,
    width: PART_IMAGE_SIZE,
    classes: PART_LABELS.length,
    seed: VISUAL_INSPECTION.seed,
    ...VISUAL_INSPECTION.training,
    ...overrides,
  };
}

export function exportCnn(weights: CnnWeights): Uint8Array {
  const model = buildCnnModel({
    graphName: VISUAL_INSPECTION.name,
    docString: VISUAL_INSPECTION.description,
    inputName: VISUAL_INSPECTION.inputName,
    outputName: VISUAL_INSPECTION.outputName,
    weights,
    metadata: [
      { key: 'infergate.model', value: VISUAL_INSPECTION.name },
      { key: 'infergate.seed', value: String(VISUAL_INSPECTION.seed) },
    ],
  });
  return onnx.ModelProto.encode(model).finish();
}

export function quantizeCnn(fp32: Uint8Array): Uint8Array {
  return quantizeModel(fp32, { bits: 8, blockSize: 32, minSize: 0, exclude: [], accuracyLevel: null }).bytes;
}

/** Rendering, training, export and quantization: pure JavaScript from fixed seeds, the same bytes everywhere. */
export function buildVisualInspection(): VisualInspectionModel {
  const { data, images } = VISUAL_INSPECTION;
  const trained = trainCnn(
    trainSpec(),
    imageSet(data.trainSeed, images.train),
    imageSet(data.validationSeed, images.validation),
  );
  const fp32 = exportCnn(trained.weights);
  return { trained, fp32, int8: quantizeCnn(fp32) };
}

const SCORING: Scoring = {
  task: { kind: 'multiclass', classes: [...PART_LABELS] },
  threshold: 0.5,
  bands: [],
};

/** Scores both variants on the held-out images with onnxruntime (one thread, batch 1, as the gateway runs). */
export async function measureVisualInspection(
  model: VisualInspectionModel,
): Promise<Record<'fp32' | 'int8', VariantMetrics>> {
  const test = imageSet(VISUAL_INSPECTION.data.testSeed, VISUAL_INSPECTION.images.test);
  const measured = {} as Record<'fp32' | 'int8', { outputs: Float32Array; metrics: ModelMetrics }>;
  for (const variant of ['fp32', 'int8'] as const) {
    const session = await openModel(visualInspectionFile(variant), model[variant], 1);
    try {
      const run = await session.run(test.x, test.count, 1);
      measured[variant] = { outputs: run.outputs, metrics: modelMetrics(run.outputs, test.y, SCORING) };
    } finally {
      await session.close();
    }
  }
  const fp32 = rounded(measured.fp32.metrics, visualInspectionFile('fp32'), model.fp32);
  const int8 = rounded(measured.int8.metrics, visualInspectionFile('int8'), model.int8);
  const c = compare(measured.int8, measured.fp32, SCORING);
  return { fp32, int8: { ...int8, retention: round4(c.retention), agreement: round4(c.agreement) } };
}

export function visualInspectionCard(
  model: VisualInspectionModel,
  variant: 'fp32' | 'int8',
  metrics: Record<'fp32' | 'int8', VariantMetrics>,
): ImageModelCard {
  const v = VISUAL_INSPECTION;
  const bytes = model[variant];
  const t = v.training;
  const perClass = (count: number): Record<string, number> =>
    Object.fromEntries(PART_LABELS.map((label) => [label, count / PART_LABELS.length]));
  return {
    name: v.name,
    task: 'multiclass-classification',
    description: v.description,
    variant,
    file: visualInspectionFile(variant),
    bytes: bytes.length,
    sha256: sha256(bytes),
    input: {
      name: v.inputName,
      type: 'float32',
      shape: [BATCH_DIM, 1, PART_IMAGE_SIZE, PART_IMAGE_SIZE],
    },
    preprocessing: VISUAL_INSPECTION_PREPROCESSING,
    output: { name: v.outputName, type: 'float32', shape: [BATCH_DIM, PART_LABELS.length] },
    labels: [...PART_LABELS],
    decide: VISUAL_INSPECTION_DECIDE,
    quantization:
      variant === 'fp32'
        ? null
        : {
            weights: 'int8',
            operator:
              'DequantizeLinear (per output channel) + Conv, DequantizeLinear (per output channel) + Gemm',
            zeroPoint: 0,
            symmetric: true,
            tool: `infergate quantize ${visualInspectionFile('fp32')} ${visualInspectionFile('int8')} --bits 8`,
          },
    training: {
      data:
        'Procedurally rendered 64x64 grayscale camera frames of a stamped washer on a conveyor: random light ' +
        'direction and brightness gradient, part position (+-5 px) and size jitter, background level and ' +
        'sensor noise; defects drawn on the ring (scratch: thin dark line; missing_hole: unpunched centre; ' +
        'dent: shaded depression; contamination: 1-3 dark spots). Classes cycle, so every set is balanced; ' +
        'train, validation and test are rendered from different seeds.',
      generator: 'tools/dev/part-images.ts',
      dataSeeds: { ...v.data },
      splits: {
        train: { rows: v.images.train, ...perClass(v.images.train) },
        validation: { rows: v.images.validation, ...perClass(v.images.validation) },
        test: { rows: v.images.test, ...perClass(v.images.test) },
      },
      network:
        `Conv 3x3 stride 2 (${t.convChannels.join(', ')} channels) each with ReLU, ` +
        `Global${t.pool === 'both' ? 'AveragePool + GlobalMax' : t.pool === 'max' ? 'Max' : 'Average'}Pool, Gemm ${t.convChannels[t.convChannels.length - 1]! * (t.pool === 'both' ? 2 : 1)}-${PART_LABELS.length}, softmax`,
      trainer: 'tools/dev/train-cnn.ts',
      optimizer: `Adam, learning rate ${t.learningRate} decaying linearly to a tenth, batch ${t.batchSize}, weight decay ${t.weightDecay}`,
      loss: `cross-entropy with label smoothing ${t.labelSmoothing}`,
      epochs: t.epochs,
      bestEpoch: model.trained.bestEpoch,
      selectedBy: 'validation macro F1',
    },
    metrics: {
      split: 'test',
      data:
        `tools/dev/part-images.ts seed ${v.data.testSeed}, images 0-${v.images.test - 1} ` +
        '(node dist/tools/dev/write-part-images.js DIR writes them as PNG folders for infergate eval)',
      rows: v.images.test,
      headline: 'macroF1',
      fp32: metrics.fp32,
      int8: metrics.int8,
    },
    generatedBy: GENERATED_BY,
    seed: v.seed,
  };
}

export interface WrittenImageModel {
  name: string;
  files: string[];
  metrics: Record<'fp32' | 'int8', VariantMetrics>;
}

export async function writeVisualInspection(outDir: string): Promise<WrittenImageModel> {
  const model = buildVisualInspection();
  const metrics = await measureVisualInspection(model);
  const files: string[] = [];
  for (const variant of ['fp32', 'int8'] as const) {
    const file = visualInspectionFile(variant);
    const card = file.replace(/\.onnx$/, '.json');
    await writeFile(path.join(outDir, file), model[variant]);
    await writeFile(path.join(outDir, card), modelCardJson(visualInspectionCard(model, variant, metrics)));
    files.push(file, card);
  }
  return { name: VISUAL_INSPECTION.name, files, metrics };
}
