/**
 * Trains the small CNN of cnn-model.ts with Adam on mini-batches, deterministically: seeded He
 * initialization and shuffles, a fixed summation order, float32 storage (no Math.random, no threads), so
 * the same images, spec and seed give the same weights everywhere. Loss: softmax cross-entropy against
 * label-smoothed targets (the probabilities stay below 1, so a confidence floor means something). The
 * returned weights are those of the epoch with the best validation macro F1.
 */
import {
  KERNEL,
  cnnLogits,
  convRelu,
  halved,
  im2col,
  normalizedInput,
  pooledWidth,
  pooled,
  softmax,
  type CnnWeights,
  type ConvLayer,
} from './cnn-model.js';
import { mulberry32, uniform, type Random } from '../train/mulberry32.js';
import { shuffle } from '../train/shuffle.js';

export interface ImageSet {
  count: number;
  /** `count` images of channels×height×width float32 values, one after the other. */
  x: Float32Array;
  y: Uint8Array;
}

export interface CnnTrainSpec {
  channels: number;
  height: number;
  width: number;
  /** Output channels of each Conv layer. */
  convChannels: readonly number[];
  pool: CnnWeights['pool'];
  inputShift: number;
  inputScale: number;
  classes: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  labelSmoothing: number;
  seed: number;
}

export interface CnnTrainResult {
  weights: CnnWeights;
  bestEpoch: number;
  history: { epoch: number; loss: number; validationMacroF1: number }[];
}

export function trainCnn(
  spec: CnnTrainSpec,
  train: ImageSet,
  validation: ImageSet,
  onEpoch?: (entry: CnnTrainResult['history'][number]) => void,
): CnnTrainResult {
  const random = mulberry32(spec.seed);
  const weights = initialWeights(spec, random);
  const params = parameters(weights);
  const grads = params.map((p) => new Float32Array(p.length));
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const decays = params.map((_, i) => i % 2 === 0);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const order = Array.from({ length: train.count }, (_, i) => i);
  const pixels = spec.channels * spec.height * spec.width;
  let step = 0;
  let best = { epoch: 0, f1: -1, weights: cloneWeights(weights) };
  const history: CnnTrainResult['history'] = [];
  const steps = spec.epochs * Math.ceil(train.count / spec.batchSize);
  for (let epoch = 1; epoch <= spec.epochs; epoch++) {
    shuffle(random, order);
    let lossSum = 0;
    for (let start = 0; start < train.count; start += spec.batchSize) {
      const batch = order.slice(start, start + spec.batchSize);
      for (const g of grads) g.fill(0);
      for (const i of batch) {
        lossSum += backward(
          weights,
          grads,
          train.x.subarray(i * pixels, (i + 1) * pixels),
          train.y[i]!,
          spec,
        );
      }
      step++;
      // Linear decay to a tenth over the whole run.
      const lr = spec.learningRate * (1 - (0.9 * (step - 1)) / steps);
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      const scale = 1 / batch.length;
      params.forEach((param, p) => {
        const grad = grads[p]!;
        const mp = m[p]!;
        const vp = v[p]!;
        for (let i = 0; i < param.length; i++) {
          const g = grad[i]! * scale + (decays[p] ? spec.weightDecay * param[i]! : 0);
          mp[i] = beta1 * mp[i]! + (1 - beta1) * g;
          vp[i] = beta2 * vp[i]! + (1 - beta2) * g * g;
          param[i] = param[i]! - (lr * (mp[i]! / c1)) / (Math.sqrt(vp[i]! / c2) + 1e-8);
        }
      });
    }
    const f1 = macroF1(predictAll(weights, validation, pixels), validation.y, spec.classes);
    history.push({ epoch, loss: lossSum / train.count, validationMacroF1: f1 });
    onEpoch?.(history[history.length - 1]!);
    if (f1 > best.f1) best = { epoch, f1, weights: cloneWeights(weights) };
  }
  return { weights: best.weights, bestEpoch: best.epoch, history };
}

export function predictAll(weights: CnnWeights, set: ImageSet, pixels: number): Uint8Array {
  const predicted = new Uint8Array(set.count);
  for (let n = 0; n < set.count; n++) {
    const logits = cnnLogits(weights, set.x.subarray(n * pixels, (n + 1) * pixels));
    let arg = 0;
    for (let k = 1; k < logits.length; k++) if (logits[k]! > logits[arg]!) arg = k;
    predicted[n] = arg;
  }
  return predicted;
}

export function macroF1(predicted: Uint8Array, labels: Uint8Array, classes: number): number {
  let total = 0;
  for (let k = 0; k < classes; k++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < labels.length; i++) {
      if (predicted[i] === k && labels[i] === k) tp++;
      else if (predicted[i] === k) fp++;
      else if (labels[i] === k) fn++;
    }
    total += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return total / classes;
}

export function initialWeights(spec: CnnTrainSpec, random: Random): CnnWeights {
  const convs: ConvLayer[] = [];
  let inputs = spec.channels;
  for (const outputs of spec.convChannels) {
    const fanIn = inputs * KERNEL * KERNEL;
    const limit = Math.sqrt(6 / fanIn);
    convs.push({
      inputs,
      outputs,
      weights: Float32Array.from({ length: outputs * fanIn }, () => uniform(random, limit)),
      // Slightly positive, so no unit starts dead on the dark belt.
      bias: new Float32Array(outputs).fill(0.01),
    });
    inputs = outputs;
  }
  const features = pooledWidth(inputs, spec.pool);
  // A small head: the first steps shape the convolutions instead of fitting the head to random features.
  const limit = 0.1 * Math.sqrt(6 / (features + spec.classes));
  return {
    channels: spec.channels,
    height: spec.height,
    width: spec.width,
    inputShift: spec.inputShift,
    inputScale: spec.inputScale,
    convs,
    pool: spec.pool,
    dense: Float32Array.from({ length: spec.classes * features }, () => uniform(random, limit)),
    denseBias: new Float32Array(spec.classes),
    classes: spec.classes,
  };
}

/** Weight, bias, weight, bias, …: the same arrays the model uses, updated in place. */
export function parameters(w: CnnWeights): Float32Array[] {
  return [...w.convs.flatMap((c) => [c.weights, c.bias]), w.dense, w.denseBias];
}

function cloneWeights(w: CnnWeights): CnnWeights {
  return {
    ...w,
    convs: w.convs.map((c) => ({ ...c, weights: c.weights.slice(), bias: c.bias.slice() })),
    dense: w.dense.slice(),
    denseBias: w.denseBias.slice(),
  };
}

/** Adds one image's gradients into `grads` (parameters() order); returns its loss. */
export function backward(
  w: CnnWeights,
  grads: Float32Array[],
  image: Float32Array,
  label: number,
  spec: CnnTrainSpec,
): number {
  const activations: Float32Array[] = [normalizedInput(w, image)];
  const patches: Float32Array[] = [];
  const sizes: [number, number][] = [[w.height, w.width]];
  for (const conv of w.convs) {
    const [h, wd] = sizes[sizes.length - 1]!;
    const plane = halved(h) * halved(wd);
    const cols = new Float32Array(conv.inputs * KERNEL * KERNEL * plane);
    im2col(conv.inputs, activations[activations.length - 1]!, h, wd, cols);
    const out = new Float32Array(conv.outputs * plane);
    convRelu(conv, cols, plane, out);
    patches.push(cols);
    activations.push(out);
    sizes.push([halved(h), halved(wd)]);
  }
  const last = activations[activations.length - 1]!;
  const [lh, lw] = sizes[sizes.length - 1]!;
  const channels = w.convs[w.convs.length - 1]!.outputs;
  const features = pooled(last, channels, lh * lw, w.pool);
  const width = features.length;
  const logits = new Float64Array(w.classes);
  for (let k = 0; k < w.classes; k++) {
    let sum = w.denseBias[k]!;
    for (let c = 0; c < width; c++) sum += w.dense[k * width + c]! * features[c]!;
    logits[k] = sum;
  }
  const p = softmax(logits);
  const off = spec.labelSmoothing / w.classes;
  let loss = 0;
  const dLogits = new Float64Array(w.classes);
  for (let k = 0; k < w.classes; k++) {
    const target = (k === label ? 1 - spec.labelSmoothing : 0) + off;
    loss -= target * Math.log(Math.max(p[k]!, 1e-12));
    dLogits[k] = p[k]! - target;
  }
  const gDense = grads[grads.length - 2]!;
  const gDenseBias = grads[grads.length - 1]!;
  const dFeatures = new Float64Array(width);
  for (let k = 0; k < w.classes; k++) {
    gDenseBias[k] += dLogits[k]!;
    for (let c = 0; c < width; c++) {
      gDense[k * width + c] += dLogits[k]! * features[c]!;
      dFeatures[c] += dLogits[k]! * w.dense[k * width + c]!;
    }
  }
  const plane = lh * lw;
  let dOut = new Float32Array(last.length);
  const maxAt = w.pool === 'both' ? channels : 0;
  for (let c = 0; c < channels; c++) {
    if (w.pool !== 'max') {
      const g = dFeatures[c]! / plane;
      for (let i = c * plane; i < (c + 1) * plane; i++) dOut[i] = last[i]! > 0 ? g : 0;
    }
    if (w.pool !== 'average') {
      // The gradient goes to the first maximum, as the pooled value came from there.
      let at = c * plane;
      for (let i = c * plane; i < (c + 1) * plane; i++) if (last[i]! > last[at]!) at = i;
      if (last[at]! > 0) dOut[at] += dFeatures[maxAt + c]!;
    }
  }
  for (let l = w.convs.length - 1; l >= 0; l--) {
    const conv = w.convs[l]!;
    const input = activations[l]!;
    const [h, wd] = sizes[l]!;
    const dIn = l === 0 ? null : new Float32Array(input.length);
    convBackward(conv, patches[l]!, h, wd, dOut, grads[2 * l]!, grads[2 * l + 1]!, dIn);
    if (dIn !== null) {
      // The layer below applied ReLU: no gradient where it was clipped.
      for (let i = 0; i < dIn.length; i++) if (input[i]! <= 0) dIn[i] = 0;
      dOut = dIn;
    }
  }
  return loss;
}

function convBackward(
  conv: ConvLayer,
  cols: Float32Array,
  h: number,
  w: number,
  dOut: Float32Array,
  dWeights: Float32Array,
  dBias: Float32Array,
  dX: Float32Array | null,
): void {
  const oh = halved(h);
  const ow = halved(w);
  const plane = oh * ow;
  const k = conv.inputs * KERNEL * KERNEL;
  const dCols = dX === null ? null : new Float32Array(k * plane);
  for (let co = 0; co < conv.outputs; co++) {
    const base = co * plane;
    let biasSum = 0;
    for (let i = base; i < base + plane; i++) biasSum += dOut[i]!;
    dBias[co] += biasSum;
    for (let j = 0; j < k; j++) {
      const row = j * plane;
      let acc = 0;
      for (let p = 0; p < plane; p++) acc += dOut[base + p]! * cols[row + p]!;
      dWeights[co * k + j] += acc;
      if (dCols !== null) {
        const wv = conv.weights[co * k + j]!;
        for (let p = 0; p < plane; p++) dCols[row + p] += wv * dOut[base + p]!;
      }
    }
  }
  if (dX === null || dCols === null) return;
  // col2im: each patch entry flows back to the pixel it was copied from.
  for (let ci = 0; ci < conv.inputs; ci++) {
    for (let ky = 0; ky < KERNEL; ky++) {
      for (let kx = 0; kx < KERNEL; kx++) {
        const row = ((ci * KERNEL + ky) * KERNEL + kx) * plane;
        for (let oy = 0; oy < oh; oy++) {
          const iy = 2 * oy - 1 + ky;
          if (iy < 0 || iy >= h) continue;
          const rowIn = (ci * h + iy) * w - 1 + kx;
          for (let ox = kx === 0 ? 1 : 0; ox < ow; ox++) {
            if (2 * ox - 1 + kx < w) dX[rowIn + 2 * ox] += dCols[row + oy * ow + ox]!;
          }
        }
      }
    }
  }
}
