/**
 * A small image classifier as an ONNX model: 3×3 stride-2 Conv + ReLU layers (padding 1, so each halves
 * the image), GlobalAveragePool, Flatten, a Gemm to the class logits and a Softmax. Input `[batch, C, H, W]`
 * float32, output `[batch, classes]` probabilities.
 *
 * `cnnForward` computes the same function in JavaScript (float64 sums), so tests can check onnxruntime's
 * answers against an independent reference; the trainer (train-cnn.ts) uses the same layout.
 */
import {
  floatTensor,
  floatTensorValue,
  intAttribute,
  intsAttribute,
  node,
  opset,
} from '../onnx-format/onnx-builders.js';
import { onnx } from '../onnx-format/onnx.js';

export interface ConvLayer {
  inputs: number;
  outputs: number;
  /** [outputs, inputs, 3, 3], row-major, as ONNX Conv takes it. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface CnnWeights {
  channels: number;
  height: number;
  width: number;
  /**
   * Inside the graph, before the first Conv: (x - shift) × scale, so the network sees centred values of
   * about unit spread whatever the image preprocessing's scale (the decoder gives pixel / 255).
   */
  inputShift: number;
  inputScale: number;
  convs: ConvLayer[];
  /**
   * Global pooling of the last Conv's channels: `max` answers "is there a defect anywhere", `average`
   * "how much of it"; `both` concatenates the two (average first), so the head sees 2 × channels.
   */
  pool: 'average' | 'max' | 'both';
  /** [classes, features], as Gemm takes it with transB=1. */
  dense: Float32Array;
  denseBias: Float32Array;
  classes: number;
}

export interface CnnSpec {
  graphName: string;
  docString: string;
  inputName: string;
  outputName: string;
  weights: CnnWeights;
  metadata?: readonly { key: string; value: string }[];
}

export const BATCH_DIM = 'batch';
const IR_VERSION = 8;
const AI_ONNX_OPSET = 17;
export const KERNEL = 3;

export function buildCnnModel(spec: CnnSpec): onnx.IModelProto {
  const w = spec.weights;
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  initializers.push(
    floatTensor('prep.shift', [], [w.inputShift]),
    floatTensor('prep.scale', [], [w.inputScale]),
  );
  nodes.push(
    node('Sub', [spec.inputName, 'prep.shift'], ['prep.centred'], { name: 'prep.Sub' }),
    node('Mul', ['prep.centred', 'prep.scale'], ['prep.out'], { name: 'prep.Mul' }),
  );
  let current = 'prep.out';
  let channels = w.channels;
  w.convs.forEach((conv, i) => {
    const prefix = `conv${i}`;
    if (conv.inputs !== channels)
      throw new RangeError(`${spec.graphName}: ${prefix} takes ${channels} channels`);
    initializers.push(
      floatTensor(`${prefix}.weight`, [conv.outputs, conv.inputs, KERNEL, KERNEL], conv.weights),
      floatTensor(`${prefix}.bias`, [conv.outputs], conv.bias),
    );
    nodes.push(
      node('Conv', [current, `${prefix}.weight`, `${prefix}.bias`], [`${prefix}.out`], {
        name: `${prefix}.Conv`,
        attributes: [
          intsAttribute('kernel_shape', [KERNEL, KERNEL]),
          intsAttribute('strides', [2, 2]),
          intsAttribute('pads', [1, 1, 1, 1]),
        ],
      }),
      node('Relu', [`${prefix}.out`], [`${prefix}.relu`], { name: `${prefix}.Relu` }),
    );
    current = `${prefix}.relu`;
    channels = conv.outputs;
  });
  const features = pooledWidth(channels, w.pool);
  initializers.push(
    floatTensor('dense.weight', [w.classes, features], w.dense),
    floatTensor('dense.bias', [w.classes], w.denseBias),
  );
  if (w.pool === 'both') {
    nodes.push(
      node('GlobalAveragePool', [current], ['pool.average'], { name: 'pool.GlobalAveragePool' }),
      node('GlobalMaxPool', [current], ['pool.max'], { name: 'pool.GlobalMaxPool' }),
      node('Concat', ['pool.average', 'pool.max'], ['pool.out'], {
        name: 'pool.Concat',
        attributes: [intAttribute('axis', 1)],
      }),
    );
  } else {
    nodes.push(
      w.pool === 'max'
        ? node('GlobalMaxPool', [current], ['pool.out'], { name: 'pool.GlobalMaxPool' })
        : node('GlobalAveragePool', [current], ['pool.out'], { name: 'pool.GlobalAveragePool' }),
    );
  }
  nodes.push(
    node('Flatten', ['pool.out'], ['pool.flat'], {
      name: 'pool.Flatten',
      attributes: [intAttribute('axis', 1)],
    }),
    node('Gemm', ['pool.flat', 'dense.weight', 'dense.bias'], ['dense.logits'], {
      name: 'dense.Gemm',
      attributes: [intAttribute('transB', 1)],
    }),
    node('Softmax', ['dense.logits'], [spec.outputName], {
      name: 'output.Softmax',
      attributes: [intAttribute('axis', -1)],
    }),
  );
  return {
    irVersion: IR_VERSION,
    producerName: 'infergate',
    docString: spec.docString,
    graph: {
      node: nodes,
      name: spec.graphName,
      initializer: initializers,
      input: [floatTensorValue(spec.inputName, [BATCH_DIM, w.channels, w.height, w.width])],
      output: [floatTensorValue(spec.outputName, [BATCH_DIM, w.classes])],
    },
    opsetImport: [opset('', AI_ONNX_OPSET)],
    metadataProps: [...(spec.metadata ?? [])],
  };
}

/** Output size of a 3×3 stride-2 convolution with padding 1. */
export const halved = (size: number): number => Math.floor((size - 1) / 2) + 1;

/**
 * The 3×3 stride-2 pad-1 patches of a [inputs, h, w] image as a [inputs·9, h/2·w/2] matrix (zeros where a
 * patch reaches over the border), so the convolution is one matrix product with long contiguous rows.
 */
export function im2col(inputs: number, x: Float32Array, h: number, w: number, cols: Float32Array): void {
  const oh = halved(h);
  const ow = halved(w);
  const plane = oh * ow;
  for (let ci = 0; ci < inputs; ci++) {
    for (let ky = 0; ky < KERNEL; ky++) {
      for (let kx = 0; kx < KERNEL; kx++) {
        const row = ((ci * KERNEL + ky) * KERNEL + kx) * plane;
        for (let oy = 0; oy < oh; oy++) {
          const iy = 2 * oy - 1 + ky;
          const at = row + oy * ow;
          if (iy < 0 || iy >= h) {
            cols.fill(0, at, at + ow);
            continue;
          }
          const rowIn = (ci * h + iy) * w - 1 + kx;
          for (let ox = 0; ox < ow; ox++) {
            const ix = 2 * ox - 1 + kx;
            cols[at + ox] = ix < 0 || ix >= w ? 0 : x[rowIn + 2 * ox]!;
          }
        }
      }
    }
  }
}

/** One convolution (ReLU applied) from the patch matrix of im2col into `out` ([outputs, h/2, w/2]). */
export function convRelu(conv: ConvLayer, cols: Float32Array, plane: number, out: Float32Array): void {
  const k = conv.inputs * KERNEL * KERNEL;
  for (let co = 0; co < conv.outputs; co++) {
    const base = co * plane;
    out.fill(conv.bias[co]!, base, base + plane);
    for (let j = 0; j < k; j++) {
      const wv = conv.weights[co * k + j]!;
      const row = j * plane;
      for (let p = 0; p < plane; p++) out[base + p] += wv * cols[row + p]!;
    }
    for (let i = base; i < base + plane; i++) if (out[i]! < 0) out[i] = 0;
  }
}

/** Class probabilities for `count` images laid out one after the other (float32 activations). */
export function cnnForward(weights: CnnWeights, images: Float32Array, count: number): Float64Array {
  const pixels = weights.channels * weights.height * weights.width;
  const out = new Float64Array(count * weights.classes);
  for (let n = 0; n < count; n++) {
    const logits = cnnLogits(weights, images.subarray(n * pixels, (n + 1) * pixels));
    out.set(softmax(logits), n * weights.classes);
  }
  return out;
}

/** The in-graph input normalization, in float32 steps as the runtime's Sub and Mul compute it. */
export function normalizedInput(weights: CnnWeights, image: Float32Array): Float32Array {
  const shift = Math.fround(weights.inputShift);
  const scale = Math.fround(weights.inputScale);
  return image.map((v) => Math.fround(v - shift) * scale);
}

export function cnnLogits(weights: CnnWeights, image: Float32Array): Float64Array {
  let x = normalizedInput(weights, image);
  let h = weights.height;
  let w = weights.width;
  for (const conv of weights.convs) {
    const plane = halved(h) * halved(w);
    const cols = new Float32Array(conv.inputs * KERNEL * KERNEL * plane);
    im2col(conv.inputs, x, h, w, cols);
    const next = new Float32Array(conv.outputs * plane);
    convRelu(conv, cols, plane, next);
    x = next;
    h = halved(h);
    w = halved(w);
  }
  const features = pooled(x, weights.convs[weights.convs.length - 1]!.outputs, h * w, weights.pool);
  const logits = new Float64Array(weights.classes);
  for (let k = 0; k < weights.classes; k++) {
    let sum = weights.denseBias[k]!;
    for (let c = 0; c < features.length; c++) sum += weights.dense[k * features.length + c]! * features[c]!;
    logits[k] = sum;
  }
  return logits;
}

export const pooledWidth = (channels: number, pool: CnnWeights['pool']): number =>
  pool === 'both' ? 2 * channels : channels;

export function pooled(
  x: Float32Array,
  channels: number,
  plane: number,
  pool: CnnWeights['pool'],
): Float64Array {
  const features = new Float64Array(pooledWidth(channels, pool));
  const maxAt = pool === 'both' ? channels : 0;
  for (let c = 0; c < channels; c++) {
    if (pool !== 'average') {
      let max = -Infinity;
      for (let i = c * plane; i < (c + 1) * plane; i++) max = Math.max(max, x[i]!);
      features[maxAt + c] = max;
    }
    if (pool !== 'max') {
      let sum = 0;
      for (let i = c * plane; i < (c + 1) * plane; i++) sum += x[i]!;
      features[c] = sum / plane;
    }
  }
  return features;
}

export function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const exps = logits.map((v) => Math.exp(v - max));
  let total = 0;
  for (const v of exps) total += v;
  return exps.map((v) => v / total);
}
