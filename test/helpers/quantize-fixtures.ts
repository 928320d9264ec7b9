/**
 * Models for the quantizer tests, built here and not by the sample-model trainer, with a graph shape the
 * trainer never makes:
 *
 *   x[batch, 24] ─Gemm(W1[40, 24], C1, transB=1, alpha=0.5, beta=2)─ Tanh ─┬─ MatMul(W2[40, 20]) ─ Relu ─┐
 *                                                                         └─ MatMul(W2) (shared weight)   │
 *   outer product of two activations (MatMul of two computed tensors: not a weight) ◄────────────────────┘
 *   ─ ReduceSum ─ MatMul(W3[20, 3], K not a multiple of the block) ─ Gemm(W4[3, 2], C4 computed) ─ Softmax
 *
 * plus a tiny MatMul weight (for --min-size), metadata, a doc string and value_info to check that they
 * survive the rewrite.
 */
import {
  floatAttribute,
  floatTensor,
  floatTensorValue,
  int64Tensor,
  intAttribute,
  node,
  opset as opsetImport,
} from '../../tools/onnx-format/onnx-builders.js';
import { onnx } from '../../tools/onnx-format/onnx.js';
import { mulberry32, uniform } from '../../tools/train/mulberry32.js';

export const MIXED_INPUT = 'x';
export const MIXED_WIDTH = 24;

export function mixedModel(opset = 17): onnx.IModelProto {
  const random = mulberry32(0xf1c5);
  const weights = (count: number, limit: number): Float32Array =>
    Float32Array.from({ length: count }, () => uniform(random, limit));
  return {
    irVersion: 8,
    opsetImport: [opsetImport('', opset)],
    producerName: 'quantize-fixture',
    producerVersion: '1.0',
    docString: 'independent fixture for infergate quantize',
    graph: {
      name: 'mixed',
      node: [
        node('Gemm', [MIXED_INPUT, 'W1', 'C1'], ['g1'], {
          name: 'dense_in',
          attributes: [intAttribute('transB', 1), floatAttribute('alpha', 0.5), floatAttribute('beta', 2)],
        }),
        node('Tanh', ['g1'], ['h1'], { name: 'tanh' }),
        node('MatMul', ['h1', 'W2'], ['m2'], { name: 'branch_a' }),
        node('Relu', ['m2'], ['h2'], { name: 'relu' }),
        node('MatMul', ['h1', 'W2'], ['h2b'], { name: 'branch_b' }),
        node('Unsqueeze', ['h2', 'axis2'], ['col'], { name: 'col' }),
        node('Unsqueeze', ['h2b', 'axis1'], ['row'], { name: 'row' }),
        node('MatMul', ['col', 'row'], ['outer'], { name: 'outer_product' }),
        node('ReduceSum', ['outer', 'axis2'], ['pooled'], {
          name: 'pool',
          attributes: [intAttribute('keepdims', 0)],
        }),
        node('MatMul', ['pooled', 'W3'], ['logits3'], { name: 'head' }),
        node('MatMul', ['logits3', 'Wtiny'], ['c4'], { name: 'tiny' }),
        node('Gemm', ['logits3', 'W4', 'c4'], ['logits'], {
          name: 'dense_out',
          attributes: [floatAttribute('beta', 0.25)],
        }),
        { ...node('Softmax', ['logits'], ['probabilities'], { name: 'softmax' }), docString: 'keep me' },
      ],
      initializer: [
        floatTensor('W1', [40, 24], weights(40 * 24, 0.4)),
        floatTensor('C1', [40], weights(40, 0.1)),
        floatTensor('W2', [40, 20], weights(40 * 20, 0.3)),
        int64Tensor('axis1', [1], [1]),
        int64Tensor('axis2', [1], [2]),
        floatTensor('W3', [20, 3], weights(20 * 3, 0.2)),
        floatTensor('Wtiny', [3, 2], weights(6, 0.5)),
        floatTensor('W4', [3, 2], weights(6, 0.8)),
      ],
      input: [floatTensorValue(MIXED_INPUT, ['batch', MIXED_WIDTH])],
      output: [floatTensorValue('probabilities', ['batch', 2])],
      valueInfo: [floatTensorValue('h1', ['batch', 40])],
    },
    metadataProps: [{ key: 'author', value: 'fixture' }],
  };
}

export function mixedModelBytes(opset = 17): Uint8Array {
  return onnx.ModelProto.encode(mixedModel(opset)).finish();
}

/** A model whose only MatMul multiplies two graph inputs: nothing is a weight. */
export function noWeightModelBytes(): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [opsetImport('', 17)],
    producerName: 'quantize-fixture',
    graph: {
      name: 'no-weights',
      node: [node('MatMul', ['a', 'b'], ['y'], { name: 'product' }), node('Relu', ['y'], ['out'])],
      input: [floatTensorValue('a', ['batch', 4]), floatTensorValue('b', [4, 3])],
      output: [floatTensorValue('out', ['batch', 3])],
    },
  }).finish();
}
