/**
 * A small multi-layer perceptron as an ONNX model: input preprocessing baked into the graph (log1p of the
 * heavy-tailed inputs that ask for it, then Sub mean, Mul 1/std), then dense layers whose weights are FP32 MatMul or INT4 MatMulNBits, with FP32
 * bias Add and an activation. The batch dimension is dynamic (`batch`).
 *
 * `mlpForward` computes the same function in JavaScript from the weights the runtime actually uses
 * (after quantization), so tests can check the runtime's answers against an independent reference.
 */
import { MATMUL_NBITS_DOMAIN, matMulNBitsNode, quantizeInt4 } from '../onnx-format/matmul-nbits.js';
import { floatTensor, floatTensorValue, intAttribute, node, opset } from '../onnx-format/onnx-builders.js';
import { onnx } from '../onnx-format/onnx.js';

export type Activation = 'relu' | 'sigmoid' | 'softmax' | 'none';

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** Row-major [inputs, outputs]. */
  weights: ArrayLike<number>;
  bias: ArrayLike<number>;
  activation: Activation;
}

export interface MlpSpec {
  graphName: string;
  docString: string;
  inputName: string;
  outputName: string;
  /** Per-input-feature mean and standard deviation; null feeds the input to the first layer as is. */
  normalization: { mean: readonly number[]; std: readonly number[] } | null;
  /** Input indices replaced by log(1 + max(0, x)) before normalization. */
  logInputs?: readonly number[];
  layers: readonly DenseLayer[];
  /** INT4 MatMulNBits with this block size, or null for FP32 MatMul. */
  int4BlockSize: number | null;
  metadata?: readonly { key: string; value: string }[];
}

/** What the runtime computes with: normalization as float32 values, weights after quantization. */
export interface MlpReference {
  /** 1 where the input goes through log(1 + max(0, x)) first. */
  logInputs: Uint8Array | null;
  mean: Float32Array | null;
  invStd: Float32Array | null;
  layers: {
    inputs: number;
    outputs: number;
    weights: Float32Array;
    bias: Float32Array;
    activation: Activation;
  }[];
}

export const BATCH_DIM = 'batch';
const IR_VERSION = 8;
const AI_ONNX_OPSET = 17;

export function buildMlpModel(spec: MlpSpec): { model: onnx.IModelProto; reference: MlpReference } {
  const first = spec.layers[0];
  if (first === undefined) throw new RangeError(`${spec.graphName}: an MLP needs at least one layer`);
  const inputWidth = first.inputs;
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let current = spec.inputName;
  let mean: Float32Array | null = null;
  let invStd: Float32Array | null = null;
  let logInputs: Uint8Array | null = null;

  if (spec.logInputs !== undefined && spec.logInputs.length > 0) {
    logInputs = new Uint8Array(inputWidth);
    for (const i of spec.logInputs) {
      if (!(Number.isInteger(i) && i >= 0 && i < inputWidth))
        throw new RangeError(`${spec.graphName}: log input ${i}`);
      logInputs[i] = 1;
    }
    // Where picks the logged or the raw value per column exactly; arithmetic masking would round.
    initializers.push(floatTensor('prep.one', [], [1]), {
      name: 'prep.log_mask',
      dataType: onnx.TensorProto.DataType.BOOL,
      dims: [inputWidth],
      rawData: logInputs,
    });
    nodes.push(
      node('Relu', [current], ['prep.clipped'], { name: 'prep.Relu' }),
      node('Add', ['prep.clipped', 'prep.one'], ['prep.shifted'], { name: 'prep.Add' }),
      node('Log', ['prep.shifted'], ['prep.logged'], { name: 'prep.Log' }),
      node('Where', ['prep.log_mask', 'prep.logged', current], ['prep.out'], { name: 'prep.Where' }),
    );
    current = 'prep.out';
  }

  if (spec.normalization !== null) {
    const { mean: means, std } = spec.normalization;
    if (means.length !== inputWidth || std.length !== inputWidth) {
      throw new RangeError(`${spec.graphName}: normalization needs ${inputWidth} means and stds`);
    }
    mean = Float32Array.from(means);
    invStd = Float32Array.from(std, (s) => {
      if (!(s > 0)) throw new RangeError(`${spec.graphName}: standard deviations must be > 0`);
      return 1 / s;
    });
    initializers.push(
      floatTensor('norm.mean', [inputWidth], mean),
      floatTensor('norm.inv_std', [inputWidth], invStd),
    );
    nodes.push(node('Sub', [current, 'norm.mean'], ['norm.centered'], { name: 'norm.Sub' }));
    nodes.push(node('Mul', ['norm.centered', 'norm.inv_std'], ['norm.out'], { name: 'norm.Mul' }));
    current = 'norm.out';
  }

  const reference: MlpReference = { logInputs, mean, invStd, layers: [] };
  spec.layers.forEach((layer, index) => {
    const prefix = `layer${index}`;
    const last = index === spec.layers.length - 1;
    if (layer.inputs !== (index === 0 ? inputWidth : spec.layers[index - 1]!.outputs)) {
      throw new RangeError(`${spec.graphName}: ${prefix} input width does not match the previous layer`);
    }
    if (layer.bias.length !== layer.outputs) throw new RangeError(`${spec.graphName}: ${prefix} bias length`);
    const product = `${prefix}.product`;
    let effective: Float32Array;
    if (spec.int4BlockSize === null) {
      effective = Float32Array.from(layer.weights);
      const weights = floatTensor(`${prefix}.weight`, [layer.inputs, layer.outputs], effective);
      initializers.push(weights);
      nodes.push(node('MatMul', [current, weights.name], [product], { name: `${prefix}.MatMul` }));
    } else {
      const quantized = quantizeInt4(layer.weights, layer.inputs, layer.outputs, spec.int4BlockSize);
      const built = matMulNBitsNode(prefix, current, product, quantized);
      initializers.push(...built.initializers);
      nodes.push(built.node);
      effective = quantized.dequantized;
    }
    const bias = Float32Array.from(layer.bias);
    initializers.push(floatTensor(`${prefix}.bias`, [layer.outputs], bias));
    const activated = last ? spec.outputName : `${prefix}.out`;
    const biased = layer.activation === 'none' ? activated : `${prefix}.biased`;
    nodes.push(node('Add', [product, `${prefix}.bias`], [biased], { name: `${prefix}.Add` }));
    if (layer.activation !== 'none') nodes.push(activationNode(prefix, layer.activation, biased, activated));
    reference.layers.push({
      inputs: layer.inputs,
      outputs: layer.outputs,
      weights: effective,
      bias,
      activation: layer.activation,
    });
    current = activated;
  });

  const outputWidth = spec.layers[spec.layers.length - 1]!.outputs;
  const opsetImport = [opset('', AI_ONNX_OPSET)];
  if (spec.int4BlockSize !== null) opsetImport.push(opset(MATMUL_NBITS_DOMAIN, 1));
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'infergate',
    docString: spec.docString,
    graph: {
      node: nodes,
      name: spec.graphName,
      initializer: initializers,
      input: [floatTensorValue(spec.inputName, [BATCH_DIM, inputWidth])],
      output: [floatTensorValue(spec.outputName, [BATCH_DIM, outputWidth])],
    },
    opsetImport,
    metadataProps: [...(spec.metadata ?? [])],
  };
  return { model, reference };
}

/** Runs the reference MLP on row-major `rows × inputWidth` input (float64 arithmetic). */
export function mlpForward(reference: MlpReference, input: ArrayLike<number>, rows: number): Float64Array {
  const first = reference.layers[0]!;
  const last = reference.layers[reference.layers.length - 1]!;
  const out = new Float64Array(rows * last.outputs);
  for (let r = 0; r < rows; r++) {
    let x: Float64Array = new Float64Array(first.inputs);
    for (let i = 0; i < first.inputs; i++) {
      const raw = input[r * first.inputs + i]!;
      const value = reference.logInputs?.[i] === 1 ? Math.log1p(Math.max(0, raw)) : raw;
      x[i] = reference.mean === null ? value : (value - reference.mean[i]!) * reference.invStd![i]!;
    }
    for (const layer of reference.layers) {
      const y = new Float64Array(layer.outputs);
      for (let o = 0; o < layer.outputs; o++) {
        let sum = layer.bias[o]!;
        for (let i = 0; i < layer.inputs; i++) sum += x[i]! * layer.weights[i * layer.outputs + o]!;
        y[o] = sum;
      }
      x = activate(y, layer.activation);
    }
    out.set(x, r * last.outputs);
  }
  return out;
}

function activationNode(
  prefix: string,
  activation: Exclude<Activation, 'none'>,
  input: string,
  output: string,
): onnx.INodeProto {
  switch (activation) {
    case 'relu':
      return node('Relu', [input], [output], { name: `${prefix}.Relu` });
    case 'sigmoid':
      return node('Sigmoid', [input], [output], { name: `${prefix}.Sigmoid` });
    case 'softmax':
      return node('Softmax', [input], [output], {
        name: `${prefix}.Softmax`,
        attributes: [intAttribute('axis', -1)],
      });
  }
}

function activate(values: Float64Array, activation: Activation): Float64Array {
  switch (activation) {
    case 'none':
      return values;
    case 'relu':
      return values.map((v) => Math.max(0, v));
    case 'sigmoid':
      return values.map((v) => 1 / (1 + Math.exp(-v)));
    case 'softmax': {
      const max = Math.max(...values);
      const exps = values.map((v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      return exps.map((v) => v / total);
    }
  }
}
