/**
 * Throw-away FP32 models for tests, written to a temp dir at test setup and never committed:
 * - writeTinyModel: one dense layer plus sigmoid, microseconds per call.
 * - writeSlowModel: input → [batch, size], broadcast to [batch, rows, size], then `chainLength` MatMuls
 *   with one shared [size, size] weight, averaged back and projected to the output width. The cost is
 *   about chainLength × rows × size² × 2 FLOPs per input row, independent of the weights, so the run
 *   time scales linearly with `chainLength` while the file stays small (one square weight, shared).
 *   The weight is a signed permutation so values neither vanish nor blow up along the chain (denormals
 *   or infinities would make the timing erratic).
 */
import { writeFile } from 'node:fs/promises';
import {
  floatTensor,
  floatTensorValue,
  int64Tensor,
  intAttribute,
  intsAttribute,
  node,
  opset,
  type Dimension,
} from '../../tools/onnx-format/onnx-builders.js';
import { onnx } from '../../tools/onnx-format/onnx.js';
import { mulberry32, uniform } from '../../tools/train/mulberry32.js';

const IR_VERSION = 8;
const OPSET = 17;

export interface TinyModelOptions {
  inputs: number;
  outputs: number;
  inputName?: string;
  outputName?: string;
  /** Dimensions before the feature dimension; default `['batch']`. `[]` makes a 1-D `[inputs]` model. */
  leadingDims?: readonly Dimension[];
  seed?: number;
}

export interface SlowModelOptions {
  inputs: number;
  outputs: number;
  /** Number of chained square MatMuls; run time grows linearly with it. Default 64. */
  chainLength?: number;
  /** Side of the shared square weight. Default 256. */
  size?: number;
  /** Rows each input row is broadcast to before the chain. Default 512. */
  rows?: number;
  inputName?: string;
  outputName?: string;
}

export async function writeTinyModel(file: string, options: TinyModelOptions): Promise<void> {
  await writeFile(file, onnx.ModelProto.encode(tinyModel(options)).finish());
}

export async function writeSlowModel(file: string, options: SlowModelOptions): Promise<void> {
  await writeFile(file, onnx.ModelProto.encode(slowModel(options)).finish());
}

export function tinyModel(options: TinyModelOptions): onnx.IModelProto {
  const { inputs, outputs } = options;
  const inputName = options.inputName ?? 'features';
  const outputName = options.outputName ?? 'scores';
  const leading = options.leadingDims ?? ['batch'];
  const random = mulberry32(options.seed ?? 1);
  const weight = Float32Array.from({ length: inputs * outputs }, () =>
    uniform(random, Math.sqrt(3 / inputs)),
  );
  const bias = Float32Array.from({ length: outputs }, () => uniform(random, 0.1));
  return model('tiny', {
    nodes: [
      node('MatMul', [inputName, 'weight'], ['product']),
      node('Add', ['product', 'bias'], ['logits']),
      node('Sigmoid', ['logits'], [outputName]),
    ],
    initializers: [floatTensor('weight', [inputs, outputs], weight), floatTensor('bias', [outputs], bias)],
    input: floatTensorValue(inputName, [...leading, inputs]),
    output: floatTensorValue(outputName, [...leading, outputs]),
  });
}

export function slowModel(options: SlowModelOptions): onnx.IModelProto {
  const { inputs, outputs } = options;
  const chainLength = options.chainLength ?? 64;
  const size = options.size ?? 256;
  const rows = options.rows ?? 512;
  const inputName = options.inputName ?? 'features';
  const outputName = options.outputName ?? 'scores';
  if (!(chainLength >= 1 && size >= 1 && rows >= 1)) throw new RangeError('slow model: sizes must be >= 1');
  const random = mulberry32(7);

  const square = new Float32Array(size * size);
  for (let i = 0; i < size; i++) square[i * size + ((i + 1) % size)] = random() < 0.5 ? -1 : 1;
  const projectIn = Float32Array.from({ length: inputs * size }, () =>
    uniform(random, Math.sqrt(3 / inputs)),
  );
  const projectOut = Float32Array.from({ length: size * outputs }, () =>
    uniform(random, Math.sqrt(3 / size)),
  );

  const nodes: onnx.INodeProto[] = [
    node('MatMul', [inputName, 'project_in'], ['hidden']),
    node('Unsqueeze', ['hidden', 'unsqueeze_axes'], ['hidden_3d']),
    node('Expand', ['hidden_3d', 'expand_shape'], ['chain0']),
  ];
  for (let i = 0; i < chainLength; i++)
    nodes.push(node('MatMul', [`chain${i}`, 'square'], [`chain${i + 1}`]));
  nodes.push(
    node('ReduceMean', [`chain${chainLength}`], ['pooled'], {
      attributes: [intsAttribute('axes', [1]), intAttribute('keepdims', 0)],
    }),
    node('MatMul', ['pooled', 'project_out'], ['logits']),
    node('Sigmoid', ['logits'], [outputName]),
  );
  const initializers: onnx.ITensorProto[] = [
    floatTensor('project_in', [inputs, size], projectIn),
    int64Tensor('unsqueeze_axes', [1], [1]),
    int64Tensor('expand_shape', [3], [1, rows, size]),
    floatTensor('square', [size, size], square),
    floatTensor('project_out', [size, outputs], projectOut),
  ];
  return model('slow', {
    nodes,
    initializers,
    input: floatTensorValue(inputName, ['batch', inputs]),
    output: floatTensorValue(outputName, ['batch', outputs]),
  });
}

function model(
  name: string,
  graph: {
    nodes: onnx.INodeProto[];
    initializers: onnx.ITensorProto[];
    input: ReturnType<typeof floatTensorValue>;
    output: ReturnType<typeof floatTensorValue>;
  },
): onnx.IModelProto {
  return testModelProto(name, { ...graph, inputs: [graph.input], outputs: [graph.output] });
}

/** A test model of `parts`, with the IR version and opset every test model uses. */
export function testModelProto(
  name: string,
  parts: {
    nodes: onnx.INodeProto[];
    initializers: onnx.ITensorProto[];
    inputs: onnx.IValueInfoProto[];
    outputs: onnx.IValueInfoProto[];
  },
): onnx.IModelProto {
  return {
    irVersion: IR_VERSION,
    opsetImport: [opset('', OPSET)],
    producerName: 'infergate',
    docString: `infergate test model (${name})`,
    graph: {
      name,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
  };
}
