/**
 * Trains a small ReLU MLP with Adam on mini-batches, in float64, deterministically: the same data, spec and
 * seed give the same weights on every platform (fixed summation order, seeded shuffles, no Math.random).
 *
 * - Binary tasks: a sigmoid output with cross-entropy, positives weighted by `positiveWeight`.
 * - Multi-class: a softmax output with cross-entropy against label-smoothed targets.
 * - Monotone inputs: the score can only rise with them. Hidden layers are split into "monotone" units
 *   (the first `monotoneUnits[l]` of layer l) and free units; monotone inputs feed only monotone units, with
 *   weights kept >= 0, and monotone units feed only monotone units (and the output) with weights >= 0.
 *   ReLU and sigmoid are non-decreasing, so every path from a monotone input is. Symmetric quantization
 *   keeps signs and zeros, so the quantized models keep the property.
 * - Quantization-aware fine-tuning (optional): after the plain epochs, `fakeQuantize.epochs` more in
 *   which the forward pass uses the weights as the quantizer will store them (a straight-through
 *   estimator: gradients update the float weights), so the model learns to live with INT4 rounding.
 * - The returned weights are those of the epoch with the best validation metric (with fine-tuning: the
 *   best fine-tuning epoch, measured with quantized weights).
 */
import type { DenseLayer } from './mlp-model.js';
import { mulberry32, uniform } from './mulberry32.js';
import { shuffle } from './shuffle.js';

export interface TrainData {
  /** Row-major `rows × inputs`, already transformed and normalized. */
  x: Float64Array;
  /** Binary: 0/1. Multi-class: class index. */
  y: Uint8Array;
  /**
   * Soft targets, row-major `rows × outputs` (a teacher's probabilities, for distillation): when set, the
   * loss is cross-entropy against these instead of `y`.
   */
  soft?: Float64Array;
  rows: number;
}

export interface TrainSpec {
  /** [inputs, hidden..., outputs]. */
  sizes: readonly number[];
  output: 'sigmoid' | 'softmax';
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on weights (not biases), added to the gradient. */
  weightDecay: number;
  seed: number;
  positiveWeight?: number;
  labelSmoothing?: number;
  monotone?: { inputs: readonly number[]; units: readonly number[] };
  fakeQuantize?: {
    epochs: number;
    learningRate: number;
    /** Row-major `[inputs, outputs]` weights → the values the runtime will multiply by. */
    quantize(weights: Float64Array, inputs: number, outputs: number): ArrayLike<number>;
  };
}

export interface TrainResult {
  layers: DenseLayer[];
  bestEpoch: number;
  history: { epoch: number; loss: number; validation: number }[];
}

const ZERO = 2;
const NON_NEGATIVE = 1;

interface Layer {
  inputs: number;
  outputs: number;
  /** Weights the forward pass uses: `w` itself, or its quantized copy during fine-tuning. */
  wq?: Float64Array;
  w: Float64Array;
  b: Float64Array;
  mask: Uint8Array | null;
}

export function trainMlp(
  spec: TrainSpec,
  train: TrainData,
  validation: TrainData,
  validationMetric: (outputs: Float64Array, data: TrainData) => number,
): TrainResult {
  const random = mulberry32(spec.seed);
  const layers = initLayers(spec, random);
  const nLayers = layers.length;
  const params = layers.flatMap((l) => [l.w, l.b]);
  const grads = params.map((p) => new Float64Array(p.length));
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;

  const acts = spec.sizes.map((s) => new Float64Array(s));
  const deltas = spec.sizes.map((s) => new Float64Array(s));
  const order = Array.from({ length: train.rows }, (_, i) => i);
  const inputs = spec.sizes[0]!;
  const outputs = spec.sizes[spec.sizes.length - 1]!;
  const smoothing = spec.labelSmoothing ?? 0;
  const positiveWeight = spec.positiveWeight ?? 1;

  let best = { metric: -Infinity, epoch: 0, snapshot: snapshot(layers) };
  const history: TrainResult['history'] = [];
  const fq = spec.fakeQuantize;
  const refreshQuantized = (): void => {
    if (fq === undefined) return;
    for (const layer of layers) {
      layer.wq = Float64Array.from(fq.quantize(layer.w, layer.inputs, layer.outputs));
    }
  };
  const totalEpochs = spec.epochs + (fq?.epochs ?? 0);
  for (let epoch = 1; epoch <= totalEpochs; epoch++) {
    const fineTuning = epoch > spec.epochs;
    if (fineTuning && epoch === spec.epochs + 1)
      best = { metric: -Infinity, epoch: 0, snapshot: best.snapshot };
    shuffle(random, order);
    // Linear decay to a tenth of the initial rate over the plain epochs; fine-tuning runs at its own rate.
    const lr = fineTuning
      ? fq!.learningRate
      : spec.learningRate * (1 - (0.9 * (epoch - 1)) / Math.max(1, spec.epochs - 1));
    let lossSum = 0;
    for (let start = 0; start < train.rows; start += spec.batchSize) {
      const end = Math.min(train.rows, start + spec.batchSize);
      if (fineTuning) refreshQuantized();
      for (const g of grads) g.fill(0);
      for (let k = start; k < end; k++) {
        const row = order[k]!;
        acts[0]!.set(train.x.subarray(row * inputs, (row + 1) * inputs));
        forward(layers, acts, spec.output);
        const out = acts[nLayers]!;
        const delta = deltas[nLayers]!;
        const label = train.y[row]!;
        const soft = train.soft;
        if (soft !== undefined) {
          for (let o = 0; o < outputs; o++) {
            const target = soft[row * outputs + o]!;
            const p = Math.min(Math.max(out[o]!, 1e-12), 1 - 1e-12);
            lossSum -=
              spec.output === 'sigmoid'
                ? target * Math.log(p) + (1 - target) * Math.log(1 - p)
                : target * Math.log(p);
            delta[o] = out[o]! - target;
          }
        } else if (spec.output === 'sigmoid') {
          const p = out[0]!;
          const weight = label === 1 ? positiveWeight : 1;
          lossSum -= weight * (label === 1 ? Math.log(Math.max(p, 1e-12)) : Math.log(Math.max(1 - p, 1e-12)));
          delta[0] = weight * (p - label);
        } else {
          for (let o = 0; o < outputs; o++) {
            const target = (o === label ? 1 - smoothing : 0) + smoothing / outputs;
            lossSum -= target * Math.log(Math.max(out[o]!, 1e-12));
            delta[o] = out[o]! - target;
          }
        }
        backward(layers, acts, deltas, grads);
      }
      const scale = 1 / (end - start);
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let p = 0; p < params.length; p++) {
        const param = params[p]!;
        const grad = grads[p]!;
        const isWeight = p % 2 === 0;
        const mp = m[p]!;
        const vp = v[p]!;
        for (let i = 0; i < param.length; i++) {
          const g = grad[i]! * scale + (isWeight ? spec.weightDecay * param[i]! : 0);
          mp[i] = beta1 * mp[i]! + (1 - beta1) * g;
          vp[i] = beta2 * vp[i]! + (1 - beta2) * g * g;
          param[i] = param[i]! - (lr * (mp[i]! / c1)) / (Math.sqrt(vp[i]! / c2) + 1e-8);
        }
      }
      for (const layer of layers) project(layer);
    }
    if (fineTuning) refreshQuantized();
    const metric = validationMetric(predict(layers, validation, spec.output), validation);
    history.push({ epoch, loss: lossSum / train.rows, validation: metric });
    if (metric > best.metric) best = { metric, epoch, snapshot: snapshot(layers) };
  }
  for (const layer of layers) delete layer.wq;
  return {
    layers: best.snapshot.map((l, i) => ({
      inputs: l.inputs,
      outputs: l.outputs,
      weights: l.w,
      bias: l.b,
      activation: i === nLayers - 1 ? spec.output : 'relu',
    })),
    bestEpoch: best.epoch,
    history,
  };
}

/** Outputs for every row of `data`, row-major `rows × outputs`. */
export function predict(
  layers: readonly Layer[],
  data: TrainData,
  output: TrainSpec['output'],
): Float64Array {
  const sizes = [layers[0]!.inputs, ...layers.map((l) => l.outputs)];
  const acts = sizes.map((s) => new Float64Array(s));
  const inputs = sizes[0]!;
  const outputs = sizes[sizes.length - 1]!;
  const result = new Float64Array(data.rows * outputs);
  for (let row = 0; row < data.rows; row++) {
    acts[0]!.set(data.x.subarray(row * inputs, (row + 1) * inputs));
    forward(layers, acts, output);
    result.set(acts[layers.length]!, row * outputs);
  }
  return result;
}

function initLayers(spec: TrainSpec, random: () => number): Layer[] {
  const layers: Layer[] = [];
  const monotoneInputs = new Set(spec.monotone?.inputs ?? []);
  for (let l = 0; l + 1 < spec.sizes.length; l++) {
    const inputs = spec.sizes[l]!;
    const outputs = spec.sizes[l + 1]!;
    const w = new Float64Array(inputs * outputs);
    // He initialization (uniform) for ReLU layers.
    const limit = Math.sqrt(6 / inputs);
    for (let i = 0; i < w.length; i++) w[i] = uniform(random, limit);
    let mask: Uint8Array | null = null;
    if (spec.monotone !== undefined) {
      mask = new Uint8Array(inputs * outputs);
      const last = l + 2 === spec.sizes.length;
      const monotoneOut = last ? outputs : spec.monotone.units[l]!;
      for (let i = 0; i < inputs; i++) {
        const monotoneIn = l === 0 ? monotoneInputs.has(i) : i < spec.monotone.units[l - 1]!;
        if (!monotoneIn) continue;
        for (let o = 0; o < outputs; o++) mask[i * outputs + o] = o < monotoneOut ? NON_NEGATIVE : ZERO;
      }
    }
    const layer: Layer = { inputs, outputs, w, b: new Float64Array(outputs), mask };
    if (mask !== null)
      for (let i = 0; i < w.length; i++) if (mask[i] === NON_NEGATIVE) w[i] = Math.abs(w[i]!);
    project(layer);
    layers.push(layer);
  }
  return layers;
}

function project(layer: Layer): void {
  const mask = layer.mask;
  if (mask === null) return;
  const w = layer.w;
  for (let i = 0; i < w.length; i++) {
    if (mask[i] === ZERO) w[i] = 0;
    else if (mask[i] === NON_NEGATIVE && w[i]! < 0) w[i] = 0;
  }
}

function forward(layers: readonly Layer[], acts: Float64Array[], output: TrainSpec['output']): void {
  for (let l = 0; l < layers.length; l++) {
    const { inputs, outputs, b } = layers[l]!;
    const w = layers[l]!.wq ?? layers[l]!.w;
    const x = acts[l]!;
    const z = acts[l + 1]!;
    z.set(b);
    for (let i = 0; i < inputs; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const base = i * outputs;
      for (let o = 0; o < outputs; o++) z[o] = z[o]! + xi * w[base + o]!;
    }
    if (l < layers.length - 1) {
      for (let o = 0; o < outputs; o++) if (z[o]! < 0) z[o] = 0;
    } else if (output === 'sigmoid') {
      for (let o = 0; o < outputs; o++) z[o] = 1 / (1 + Math.exp(-z[o]!));
    } else {
      let max = -Infinity;
      for (let o = 0; o < outputs; o++) max = Math.max(max, z[o]!);
      let total = 0;
      for (let o = 0; o < outputs; o++) {
        z[o] = Math.exp(z[o]! - max);
        total += z[o]!;
      }
      for (let o = 0; o < outputs; o++) z[o] = z[o]! / total;
    }
  }
}

/** Accumulates gradients; `deltas[last]` holds dLoss/dz of the output layer on entry. */
function backward(
  layers: readonly Layer[],
  acts: Float64Array[],
  deltas: Float64Array[],
  grads: Float64Array[],
): void {
  for (let l = layers.length - 1; l >= 0; l--) {
    const { inputs, outputs } = layers[l]!;
    const w = layers[l]!.wq ?? layers[l]!.w;
    const x = acts[l]!;
    const dz = deltas[l + 1]!;
    const gw = grads[2 * l]!;
    const gb = grads[2 * l + 1]!;
    for (let o = 0; o < outputs; o++) gb[o] = gb[o]! + dz[o]!;
    const dx = deltas[l]!;
    for (let i = 0; i < inputs; i++) {
      const xi = x[i]!;
      const base = i * outputs;
      let sum = 0;
      for (let o = 0; o < outputs; o++) {
        if (xi !== 0) gw[base + o] = gw[base + o]! + xi * dz[o]!;
        sum += w[base + o]! * dz[o]!;
      }
      // ReLU derivative of the layer below (its activation is x); the input layer needs no delta.
      dx[i] = l > 0 && xi <= 0 ? 0 : sum;
    }
  }
}

function snapshot(layers: readonly Layer[]): Layer[] {
  return layers.map((l) => ({
    inputs: l.inputs,
    outputs: l.outputs,
    w: Float64Array.from(l.w),
    b: Float64Array.from(l.b),
    mask: l.mask,
  }));
}
