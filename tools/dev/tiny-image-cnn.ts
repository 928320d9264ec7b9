/**
 * A tiny image CNN for tests and for the image bench when no visual-inspection model is at hand: a 64×64
 * grey image (as a flat [batch, 4096] row, or [batch, 1, 64, 64] with `flat: false`) → Conv 3×3 (a mean
 * filter) → Relu → global average pool → 5 logits → Softmax. Its answer is predictable: class 0 (`good`) for a bright image, class 1 for a dark one.
 */
import { writeFile } from 'node:fs/promises';
import {
  floatTensor,
  floatTensorValue,
  int64Tensor,
  intsAttribute,
  node,
  opset,
} from '../onnx-format/onnx-builders.js';
import { onnx } from '../onnx-format/onnx.js';

export const CNN_LABELS = ['good', 'scratch', 'missing_hole', 'dent', 'contamination'];

export async function writeTinyCnn(file: string, options: { flat?: boolean } = {}): Promise<void> {
  const flat = options.flat ?? true;
  const nodes: onnx.INodeProto[] = [];
  if (flat) nodes.push(node('Reshape', ['image', 'image_shape'], ['planes']));
  nodes.push(
    node('Conv', [flat ? 'planes' : 'image', 'kernel', 'kernel_bias'], ['features'], {
      attributes: [intsAttribute('kernel_shape', [3, 3]), intsAttribute('strides', [2, 2])],
    }),
    node('Relu', ['features'], ['activated']),
    node('GlobalAveragePool', ['activated'], ['pooled']),
    node('Flatten', ['pooled'], ['brightness']),
    node('Gemm', ['brightness', 'dense', 'dense_bias'], ['logits']),
    node('Softmax', ['logits'], ['probabilities']),
  );
  const initializers = [
    floatTensor('kernel', [1, 1, 3, 3], Array(9).fill(1 / 9)),
    floatTensor('kernel_bias', [1], [0]),
    floatTensor('dense', [1, 5], [10, -10, 0, 0, 0]),
    floatTensor('dense_bias', [5], [-5, 5, -3, -3, -3]),
  ];
  if (flat) initializers.push(int64Tensor('image_shape', [4], [-1, 1, 64, 64]));
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [opset('', 17)],
    producerName: 'infergate',
    docString: 'infergate test model (tiny image CNN)',
    graph: {
      name: 'tiny-cnn',
      node: nodes,
      initializer: initializers,
      input: [floatTensorValue('image', flat ? ['batch', 64 * 64] : ['batch', 1, 64, 64])],
      output: [floatTensorValue('probabilities', ['batch', 5])],
    },
  };
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  await writeFile(file.replace(/\.onnx$/, '.json'), JSON.stringify({ labels: CNN_LABELS }));
}
