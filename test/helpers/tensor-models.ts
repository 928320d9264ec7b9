/**
 * Throw-away models for the tensor-input tests, written at test setup, never committed. Their weights make
 * every output a known function of the input, so a test can tell which value reached which input position:
 * - twoInputModel: `image` float32 [batch, 1, 4, 4] and `meta` float32 [batch, 3] → `scores` [batch, 2],
 *   scores[0] = Σ image[i] · (i + 1) / 100 (row-major i), scores[1] = meta[0] + 10 meta[1] + 100 meta[2].
 * - castModel: one input of `type` [batch, width] (or [1, width]) cast to float32 and returned as is.
 * - sequenceModel: `series` float32 [batch, T, F] → `total` [batch, 1], the sum of its values.
 */
import { writeFile } from 'node:fs/promises';
import {
  floatTensor,
  intAttribute,
  node,
  tensorValue,
  type Dimension,
} from '../../tools/onnx-format/onnx-builders.js';
import { onnx } from '../../tools/onnx-format/onnx.js';
import { testModelProto } from './test-models.js';

const DataType = onnx.TensorProto.DataType;

export const CAST_TYPES = {
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  float16: DataType.FLOAT16,
  float32: DataType.FLOAT,
} as const;

export function twoInputModel(): onnx.IModelProto {
  const weight = new Float32Array(19 * 2);
  for (let i = 0; i < 16; i++) weight[i * 2] = (i + 1) / 100;
  [1, 10, 100].forEach((w, j) => (weight[(16 + j) * 2 + 1] = w));
  return testModelProto('two-inputs', {
    nodes: [
      node('Flatten', ['image'], ['flat'], { attributes: [intAttribute('axis', 1)] }),
      node('Concat', ['flat', 'meta'], ['joined'], { attributes: [intAttribute('axis', 1)] }),
      node('MatMul', ['joined', 'weight'], ['scores']),
    ],
    initializers: [floatTensor('weight', [19, 2], weight)],
    inputs: [
      tensorValue('image', DataType.FLOAT, ['batch', 1, 4, 4]),
      tensorValue('meta', DataType.FLOAT, ['batch', 3]),
    ],
    outputs: [tensorValue('scores', DataType.FLOAT, ['batch', 2])],
  });
}

export function castModel(
  type: keyof typeof CAST_TYPES,
  width: number,
  batch: Dimension = 'batch',
): onnx.IModelProto {
  return testModelProto(`cast-${type}`, {
    nodes: [node('Cast', ['values'], ['floats'], { attributes: [intAttribute('to', DataType.FLOAT)] })],
    initializers: [],
    inputs: [tensorValue('values', CAST_TYPES[type], [batch, width])],
    outputs: [tensorValue('floats', DataType.FLOAT, [batch, width])],
  });
}

export function sequenceModel(steps: number, features: number): onnx.IModelProto {
  return testModelProto('sequence', {
    nodes: [
      node('Flatten', ['series'], ['flat'], { attributes: [intAttribute('axis', 1)] }),
      node('MatMul', ['flat', 'ones'], ['total']),
    ],
    initializers: [floatTensor('ones', [steps * features, 1], new Float32Array(steps * features).fill(1))],
    inputs: [tensorValue('series', DataType.FLOAT, ['batch', steps, features])],
    outputs: [tensorValue('total', DataType.FLOAT, ['batch', 1])],
  });
}

export async function writeModel(file: string, model: onnx.IModelProto): Promise<void> {
  await writeFile(file, onnx.ModelProto.encode(model).finish());
}
