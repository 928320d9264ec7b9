/**
 * The wide event's model: a 32 → 32 → 16 → 1 MLP with INT4 weights (MatMulNBits), trained in TypeScript on
 * generated wide events (label: the part was generated with a defect) with the project's own MLP tools.
 * Fixed seeds and float64 arithmetic make it the same bytes on every run and box, so the bench writes it
 * into its temp dir at start instead of shipping or downloading it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMlpModel } from '../tools/train/mlp-model.js';
import { trainMlp, type TrainData } from '../tools/train/train-mlp.js';
import { onnx } from '../tools/onnx-format/onnx.js';
import { makeWideRecordGenerator, WIDE_FEATURE_COUNT, wideFeatures } from './wide-event.js';

export const WIDE_MODEL_INPUT = 'features';
export const WIDE_MODEL_OUTPUT = 'score';
const TRAIN_ROWS = 4000;
const VALIDATION_ROWS = 1000;
const SEED = 0x31de_0032;
const BLOCK_SIZE = 16;

function rows(seed: number, count: number): { x: Float64Array; y: Uint8Array } {
  const next = makeWideRecordGenerator(seed);
  const x = new Float64Array(count * WIDE_FEATURE_COUNT);
  const y = new Uint8Array(count);
  const row = new Float32Array(WIDE_FEATURE_COUNT);
  for (let r = 0; r < count; r++) {
    const { event, defective } = next(`train-${r}`);
    x.set(wideFeatures(event, row), r * WIDE_FEATURE_COUNT);
    y[r] = defective ? 1 : 0;
  }
  return { x, y };
}

/** Share of rows whose score falls on the right side of 0.5: enough to keep the best epoch. */
function accuracy(outputs: Float64Array, data: TrainData): number {
  let right = 0;
  for (let r = 0; r < data.rows; r++) if (outputs[r] >= 0.5 === (data.y[r] === 1)) right++;
  return right / data.rows;
}

/** The model file's bytes. */
export function buildWideModel(): Uint8Array {
  const width = WIDE_FEATURE_COUNT;
  const train = rows(SEED, TRAIN_ROWS);
  const validation = rows(SEED + 1, VALIDATION_ROWS);
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (let r = 0; r < TRAIN_ROWS; r++) for (let i = 0; i < width; i++) mean[i] += train.x[r * width + i];
  for (let i = 0; i < width; i++) mean[i] = Math.fround(mean[i] / TRAIN_ROWS);
  for (let r = 0; r < TRAIN_ROWS; r++)
    for (let i = 0; i < width; i++) std[i] += (train.x[r * width + i] - mean[i]) ** 2;
  for (let i = 0; i < width; i++) std[i] = Math.fround(Math.sqrt(std[i] / TRAIN_ROWS) || 1);
  const normalized = (x: Float64Array): Float64Array =>
    x.map((v, k) => (v - mean[k % width]) / std[k % width]);

  const result = trainMlp(
    {
      sizes: [width, 32, 16, 1],
      output: 'sigmoid',
      epochs: 6,
      batchSize: 32,
      learningRate: 0.005,
      weightDecay: 1e-4,
      seed: SEED,
      positiveWeight: 4,
    },
    { x: normalized(train.x), y: train.y, rows: TRAIN_ROWS },
    { x: normalized(validation.x), y: validation.y, rows: VALIDATION_ROWS },
    accuracy,
  );
  const { model } = buildMlpModel({
    graphName: 'wide-inspection',
    docString:
      'Bench model: defect risk in [0, 1] of a generated 32-reading inspection record (bench/wide-event.ts)',
    inputName: WIDE_MODEL_INPUT,
    outputName: WIDE_MODEL_OUTPUT,
    normalization: { mean, std },
    layers: result.layers,
    int4BlockSize: BLOCK_SIZE,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes the model to `dir/wide-inspection.onnx` and returns the path. */
export function writeWideModel(dir: string): string {
  const path = join(dir, 'wide-inspection.onnx');
  writeFileSync(path, buildWideModel());
  return path;
}
