/**
 * How the ONNX adapter feeds a model, decided from the session's first input and output metadata.
 * Accepted first inputs: float32 `[batch, N]` (dynamic first dimension), fed one call per batch; or
 * `[N]` / `[1, N]` (models exported without a dynamic batch), fed one call per row.
 */
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { TensorInfo } from '../../daemon/ports.js';
import type { RunLayout } from './worker-protocol.js';

export interface OnnxRunLayout extends RunLayout {
  inputWidth: number;
  outputWidth: number;
}

/** IG_ERR_MODEL_SHAPE for any other first input, or a first output without a fixed last dimension. */
export function onnxRunLayout(
  name: string,
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
): OnnxRunLayout {
  const input = inputs[0];
  const output = outputs[0];
  const refuse = (why: string): never => {
    throw new ModelError(ErrorCodes.MODEL_SHAPE, `model ${name}: ${why}`);
  };
  if (input === undefined || output === undefined)
    return refuse('the model needs at least one input and one output');
  const shape = `${input.type} [${input.shape.join(', ')}]`;
  if (input.type !== 'float32')
    return refuse(`first input ${input.name} is ${shape}; infergate feeds float32 [batch, N]`);
  const width = input.shape[input.shape.length - 1];
  if (typeof width !== 'number' || width < 1 || input.shape.length > 2) {
    return refuse(`first input ${input.name} is ${shape}; infergate feeds float32 [batch, N] or [N]`);
  }
  const batchDim = input.shape.length === 2 ? input.shape[0] : undefined;
  const batched = typeof batchDim === 'string';
  if (input.shape.length === 2 && !batched && batchDim !== 1) {
    return refuse(`first input ${input.name} is ${shape}; a fixed batch dimension must be 1`);
  }
  const outWidth =
    output.shape.length === 1 && typeof output.shape[0] === 'string'
      ? 1
      : output.shape[output.shape.length - 1];
  if (output.type === 'non-tensor' || typeof outWidth !== 'number' || outWidth < 1) {
    return refuse(
      `first output ${output.name} is ${output.type} [${output.shape.join(', ')}]; need a fixed last dimension`,
    );
  }
  return {
    inputName: input.name,
    outputName: output.name,
    batched,
    rowDims: batched ? [width] : input.shape.length === 1 ? [width] : [1, width],
    inputWidth: width,
    outputWidth: outWidth,
  };
}
