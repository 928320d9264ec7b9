/**
 * Trains one sample model on its data set: features by input name from the records, log1p where the spec
 * asks, normalization statistics from the training split only, then trainMlp with early stopping on the
 * validation split (ROC-AUC or macro F1). The test split is never looked at here.
 */
import { argmax, classificationReport, rocAuc } from '../eval/classification-metrics.js';
import { quantizeInt4 } from '../onnx-format/matmul-nbits.js';
import type { DenseLayer } from '../train/mlp-model.js';
import { featureMatrix } from '../eval/record-features.js';
import type { SampleDataset } from './sample-datasets.js';
import type { SampleModelSpec } from './sample-model-specs.js';
import { trainMlp, type TrainData, type TrainResult } from '../train/train-mlp.js';

export interface TrainedSample {
  layers: DenseLayer[];
  /** Per input, of the (log1p-transformed where asked) training-split values. */
  mean: number[];
  std: number[];
  logInputs: number[];
  bestEpoch: number;
  history: TrainResult['history'];
  rows: { train: number; validation: number; test: number };
}

export function trainSampleModel(spec: SampleModelSpec, dataset: SampleDataset): TrainedSample {
  const names = spec.features.map((f) => f.name);
  const width = names.length;
  const logInputs = spec.features.flatMap((f, i) => (f.transform === 'log1p' ? [i] : []));
  const bySplit = (split: string): number[] => dataset.splits.flatMap((s, i) => (s === split ? [i] : []));
  const trainRows = bySplit('train');
  const validationRows = bySplit('validation');

  const raw = (rows: number[]): Float64Array => {
    const x = featureMatrix(
      rows.map((i) => dataset.records[i]!),
      names,
    );
    for (let r = 0; r < rows.length; r++) {
      for (const i of logInputs) x[r * width + i] = Math.log1p(Math.max(0, x[r * width + i]!));
    }
    return x;
  };
  const trainX = raw(trainRows);
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (let r = 0; r < trainRows.length; r++)
    for (let i = 0; i < width; i++) mean[i]! += trainX[r * width + i]!;
  for (let i = 0; i < width; i++) mean[i] = Math.fround(mean[i]! / trainRows.length);
  for (let r = 0; r < trainRows.length; r++) {
    for (let i = 0; i < width; i++) std[i]! += (trainX[r * width + i]! - mean[i]!) ** 2;
  }
  // float32 because the graph stores them so; a constant input keeps std 1 instead of dividing by zero.
  for (let i = 0; i < width; i++) std[i] = Math.fround(Math.sqrt(std[i]! / trainRows.length) || 1);
  const invStd = std.map((s) => Math.fround(1 / s));

  const normalize = (x: Float64Array, rows: number[]): TrainData => {
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0; i < width; i++) x[r * width + i] = (x[r * width + i]! - mean[i]!) * invStd[i]!;
    }
    return { x, y: Uint8Array.from(rows, (i) => dataset.labels[i]!), rows: rows.length };
  };
  const train = normalize(trainX, trainRows);
  const validation = normalize(raw(validationRows), validationRows);

  const classes = spec.outputWidth === 1 ? 2 : spec.outputWidth;
  const metric =
    spec.outputWidth === 1
      ? (outputs: Float64Array, data: TrainData): number => rocAuc(outputs, data.y)
      : (outputs: Float64Array, data: TrainData): number =>
          classificationReport(
            data.y,
            Uint8Array.from({ length: data.rows }, (_, r) => argmax(outputs, r, spec.outputWidth)),
            classes,
          ).macroF1;
  const { monotone, int4FineTuning, ...settings } = spec.training;
  const result = trainMlp(
    {
      ...settings,
      sizes: [width, ...spec.hidden, spec.outputWidth],
      output: spec.outputWidth === 1 ? 'sigmoid' : 'softmax',
      seed: spec.seed,
      ...(int4FineTuning === undefined
        ? {}
        : {
            fakeQuantize: {
              ...int4FineTuning,
              // Exactly what `infergate quantize` will store: float32 weights, then INT4 blocks.
              quantize: (w: Float64Array, inputs: number, outputs: number) =>
                quantizeInt4(Float32Array.from(w), inputs, outputs, spec.blockSize).dequantized,
            },
          }),
      ...(monotone === undefined
        ? {}
        : {
            monotone: { inputs: monotone.features.map((name) => names.indexOf(name)), units: monotone.units },
          }),
    },
    train,
    validation,
    metric,
  );
  return {
    layers: result.layers,
    mean,
    std,
    logInputs,
    bestEpoch: result.bestEpoch,
    history: result.history,
    rows: { train: trainRows.length, validation: validationRows.length, test: bySplit('test').length },
  };
}
