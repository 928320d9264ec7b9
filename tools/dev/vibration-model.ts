/**
 * A vibration-window model for the `decoder: tensor` example (config/examples/vibration.yaml): no training,
 * one fixed formula. Input `window` float32 [batch, 3, 256] (3 axes × 256 samples, in g); output `score`
 * [batch, 1] = sigmoid(SLOPE · (rms − RMS_LIMIT_G)), rms over all 768 samples. A healthy machine's window
 * scores near 0, one shaking at more than RMS_LIMIT_G near 1.
 */
import {
  floatTensor,
  intAttribute,
  intsAttribute,
  node,
  opset,
  floatTensorValue,
} from '../onnx-format/onnx-builders.js';
import { onnx } from '../onnx-format/onnx.js';

export const VIBRATION_AXES = 3;
export const VIBRATION_SAMPLES = 256;
export const RMS_LIMIT_G = 0.5;
const SLOPE = 20;

export function vibrationRmsModel(): onnx.IModelProto {
  return {
    irVersion: 8,
    opsetImport: [opset('', 17)],
    producerName: 'infergate',
    docString: `infergate vibration RMS detector: sigmoid(${SLOPE} · (rms − ${RMS_LIMIT_G} g))`,
    graph: {
      name: 'vibration-rms',
      node: [
        node('Mul', ['window', 'window'], ['squared']),
        node('ReduceMean', ['squared'], ['mean_square'], {
          attributes: [intsAttribute('axes', [1, 2]), intAttribute('keepdims', 1)],
        }),
        node('Sqrt', ['mean_square'], ['rms_3d']),
        node('Flatten', ['rms_3d'], ['rms'], { attributes: [intAttribute('axis', 1)] }),
        node('Sub', ['rms', 'limit'], ['excess']),
        node('Mul', ['excess', 'slope'], ['logit']),
        node('Sigmoid', ['logit'], ['score']),
      ],
      initializer: [floatTensor('limit', [1], [RMS_LIMIT_G]), floatTensor('slope', [1], [SLOPE])],
      input: [floatTensorValue('window', ['batch', VIBRATION_AXES, VIBRATION_SAMPLES])],
      output: [floatTensorValue('score', ['batch', 1])],
    },
  };
}

/** The model file's bytes (deterministic). */
export function vibrationRmsModelBytes(): Uint8Array {
  return onnx.ModelProto.encode(vibrationRmsModel()).finish();
}
