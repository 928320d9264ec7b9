/**
 * Trains the student: a small ReLU MLP on the rows the pipeline's input mapping makes, against the
 * teacher's outputs as soft targets (its probabilities, not just its top label, carry what it knows about
 * near-misses). Heavy-tailed non-negative inputs (amounts, distances) go through log1p inside the graph;
 * normalization statistics come from the training rows only. For INT4, a few quantization-aware epochs
 * follow, so the student learns to live with the 4-bit rounding it will be stored with. Early stopping
 * keeps the epoch whose decisions agree best with the teacher's on a validation slice.
 */
import type { CompiledDecisionRules } from '../../daemon/decision-rules.js';
import { quantizeInt4 } from '../onnx-format/matmul-nbits.js';
import { onnx } from '../onnx-format/onnx.js';
import { quantizeModel, QUANTIZE_DEFAULTS, type QuantizeReport } from '../quantize/quantize-model.js';
import { buildMlpModel, type DenseLayer } from '../train/mlp-model.js';
import { trainMlp, type TrainData } from '../train/train-mlp.js';

export interface StudentData {
  /** Row-major `rows × width`, as the input mapping wrote them. */
  x: Float32Array;
  /** Row-major `rows × outputs`: the teacher's outputs. */
  targets: Float32Array;
  rows: number;
}

export interface StudentSpec {
  width: number;
  outputs: number;
  hidden: readonly number[];
  epochs: number;
  bits: 4 | 8;
  blockSize: number;
  seed: number;
  featureNames: readonly string[];
}

export interface Student {
  fp32: Uint8Array;
  quantized: Uint8Array;
  quantizeReport: QuantizeReport;
  layers: DenseLayer[];
  mean: number[];
  std: number[];
  logInputs: number[];
  bestEpoch: number;
  validationAgreement: number;
}

const LOG_MIN_MAX = 50;
const LOG_TAIL_RATIO = 10;

export function trainStudent(
  spec: StudentSpec,
  train: StudentData,
  validation: StudentData,
  rules: CompiledDecisionRules,
): Student {
  const { width, outputs } = spec;
  const logInputs = heavyTailed(train, width);
  const transform = (data: StudentData): Float64Array => {
    const x = Float64Array.from(data.x);
    for (let r = 0; r < data.rows; r++) {
      for (const i of logInputs) x[r * width + i] = Math.log1p(Math.max(0, x[r * width + i]!));
    }
    return x;
  };
  const trainX = transform(train);
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (let r = 0; r < train.rows; r++) for (let i = 0; i < width; i++) mean[i]! += trainX[r * width + i]!;
  for (let i = 0; i < width; i++) mean[i] = Math.fround(mean[i]! / Math.max(1, train.rows));
  for (let r = 0; r < train.rows; r++) {
    for (let i = 0; i < width; i++) std[i]! += (trainX[r * width + i]! - mean[i]!) ** 2;
  }
  // float32 because the graph stores them so; a constant input keeps std 1 instead of dividing by zero.
  for (let i = 0; i < width; i++) std[i] = Math.fround(Math.sqrt(std[i]! / Math.max(1, train.rows)) || 1);
  const invStd = std.map((s) => Math.fround(1 / s));
  const normalize = (x: Float64Array, data: StudentData): TrainData => {
    for (let r = 0; r < data.rows; r++) {
      for (let i = 0; i < width; i++) x[r * width + i] = (x[r * width + i]! - mean[i]!) * invStd[i]!;
    }
    const soft = Float64Array.from(data.targets);
    const y = Uint8Array.from({ length: data.rows }, (_, r) => topClass(data.targets, r, outputs));
    return { x, y, soft, rows: data.rows };
  };
  const trainData = normalize(trainX, train);
  const validationData = normalize(transform(validation), validation);
  const teacherDecisions = decideAll(rules, validation.targets, validation.rows, outputs);
  const agreement = (out: Float64Array): number =>
    agreementOf(teacherDecisions, decideAll(rules, Float32Array.from(out), validation.rows, outputs));

  const result = trainMlp(
    {
      sizes: [width, ...spec.hidden, outputs],
      output: outputs === 1 ? 'sigmoid' : 'softmax',
      epochs: spec.epochs,
      batchSize: 64,
      learningRate: 0.003,
      weightDecay: 1e-5,
      seed: spec.seed,
      ...(spec.bits === 4
        ? {
            fakeQuantize: {
              epochs: Math.max(3, Math.round(spec.epochs / 4)),
              learningRate: 0.0005,
              // Exactly what the quantizer will store: float32 weights, then INT4 blocks.
              quantize: (w: Float64Array, inputs: number, outs: number) =>
                quantizeInt4(Float32Array.from(w), inputs, outs, spec.blockSize).dequantized,
            },
          }
        : {}),
    },
    trainData,
    validationData,
    (out) => agreement(out),
  );
  const best = result.history.find((h) => h.epoch === result.bestEpoch);
  const { model } = buildMlpModel({
    graphName: 'student',
    docString: 'infergate distill student',
    inputName: 'features',
    outputName: 'scores',
    normalization: { mean, std },
    logInputs,
    layers: result.layers,
    int4BlockSize: null,
    metadata: [{ key: 'inputs', value: spec.featureNames.join(',') }],
  });
  const fp32 = onnx.ModelProto.encode(model).finish();
  const quantized = quantizeModel(fp32, { ...QUANTIZE_DEFAULTS, bits: spec.bits, blockSize: spec.blockSize });
  return {
    fp32,
    quantized: quantized.bytes,
    quantizeReport: quantized.report,
    layers: result.layers,
    mean,
    std,
    logInputs,
    bestEpoch: result.bestEpoch,
    validationAgreement: best?.validation ?? Number.NaN,
  };
}

/** Non-negative columns whose top percent lies far above their median: counts of money, distance, time. */
function heavyTailed(data: StudentData, width: number): number[] {
  const picked: number[] = [];
  const column = new Float64Array(data.rows);
  for (let i = 0; i < width; i++) {
    for (let r = 0; r < data.rows; r++) column[r] = data.x[r * width + i]!;
    const sorted = Float64Array.from(column).sort();
    if (sorted.length === 0 || sorted[0]! < 0) continue;
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
    const max = sorted[sorted.length - 1]!;
    if (max >= LOG_MIN_MAX && p99 > LOG_TAIL_RATIO * (median + 1)) picked.push(i);
  }
  return picked;
}

function topClass(values: Float32Array, row: number, width: number): number {
  if (width === 1) return values[row]! >= 0.5 ? 1 : 0;
  let best = 0;
  for (let o = 1; o < width; o++) if (values[row * width + o]! > values[row * width + best]!) best = o;
  return best;
}

/** The pipeline's decision for every row of outputs; `null` where the rules refuse the row. */
export function decideAll(
  rules: CompiledDecisionRules,
  outputs: Float32Array,
  rows: number,
  width: number,
): (string | null)[] {
  const decisions: (string | null)[] = [];
  for (let r = 0; r < rows; r++) {
    try {
      decisions.push(rules.decide(outputs, r * width).decision);
    } catch {
      decisions.push(null);
    }
  }
  return decisions;
}

export function agreementOf(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i] === b[i]) same++;
  return a.length === 0 ? 0 : same / a.length;
}
