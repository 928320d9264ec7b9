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
  floatTensor,
  floatTensorValue,
  int64Tensor,
  intAttribute,
  node,
} from '../../tools/onnx-format/onnx-builders.js';
import { encodeModel, AttributeType, type ModelProto } from '../../tools/onnx-format/onnx-proto.js';
import { mulberry32, uniform } from '../../tools/dev/mulberry32.js';

export const MIXED_INPUT = 'x';
export const MIXED_WIDTH = 24;

export function mixedModel(opset = 17): ModelProto {
  const random = mulberry32(0xf1c5);
  const weights = (count: number, limit: number): Float32Array =>
    Float32Array.from({ length: count }, () => uniform(random, limit));
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: opset }],
    producerName: 'quantize-fixture',
    producerVersion: '1.0',
    docString: 'independent fixture for infergate quantize',
    graph: {
      name: 'mixed',
      nodes: [
        node('Gemm', [MIXED_INPUT, 'W1', 'C1'], ['g1'], {
          name: 'dense_in',
          attributes: [
            intAttribute('transB', 1),
            { name: 'alpha', type: AttributeType.FLOAT, f: 0.5 },
            { name: 'beta', type: AttributeType.FLOAT, f: 2 },
          ],
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
          attributes: [{ name: 'beta', type: AttributeType.FLOAT, f: 0.25 }],
        }),
        { ...node('Softmax', ['logits'], ['probabilities'], { name: 'softmax' }), docString: 'keep me' },
      ],
      initializers: [
        floatTensor('W1', [40, 24], weights(40 * 24, 0.4)),
        floatTensor('C1', [40], weights(40, 0.1)),
        floatTensor('W2', [40, 20], weights(40 * 20, 0.3)),
        int64Tensor('axis1', [1], [1]),
        int64Tensor('axis2', [1], [2]),
        floatTensor('W3', [20, 3], weights(20 * 3, 0.2)),
        floatTensor('Wtiny', [3, 2], weights(6, 0.5)),
        floatTensor('W4', [3, 2], weights(6, 0.8)),
      ],
      inputs: [floatTensorValue(MIXED_INPUT, ['batch', MIXED_WIDTH])],
      outputs: [floatTensorValue('probabilities', ['batch', 2])],
      valueInfo: [floatTensorValue('h1', ['batch', 40])],
    },
    metadataProps: [{ key: 'author', value: 'fixture' }],
  };
}

export function mixedModelBytes(opset = 17): Uint8Array {
  return encodeModel(mixedModel(opset));
}

/** A model whose only MatMul multiplies two graph inputs: nothing is a weight. */
export function noWeightModelBytes(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'quantize-fixture',
    graph: {
      name: 'no-weights',
      nodes: [node('MatMul', ['a', 'b'], ['y'], { name: 'product' }), node('Relu', ['y'], ['out'])],
      initializers: [],
      inputs: [floatTensorValue('a', ['batch', 4]), floatTensorValue('b', [4, 3])],
      outputs: [floatTensorValue('out', ['batch', 3])],
    },
  });
}
