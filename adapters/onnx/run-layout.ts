/**
 * How the ONNX adapter feeds a model, decided from the session's input and output metadata.
 * Every input is fed: float32, float16, uint8 or int8, shaped `[batch, d1, d2, ...]` (dynamic first
 * dimension, fixed others: `[batch, N]`, `[batch, C, H, W]`, `[batch, T, F]`), fed one call per batch; or
 * `[N]` / `[1, d1, ...]` (models exported without a dynamic batch), fed one call per row. A row holds the
 * values of every input, one after the other, in the model's input order.
 */
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { RowTensor, TensorInfo } from '../../daemon/ports.js';
import type { InputFeed, RunLayout } from './worker-protocol.js';

export interface OnnxRunLayout extends RunLayout {
  /** Values per row, all inputs together. */
  inputWidth: number;
  outputWidth: number;
  /** Name and width of each input, in row order. */
  rowTensors: RowTensor[];
}

/** Element types infergate converts a float32 row into. */
export const FED_INPUT_TYPES: readonly InputFeed['type'][] = ['float32', 'float16', 'uint8', 'int8'];

/**
 * IG_ERR_MODEL_SHAPE for any other input, or a first output that is not one vector per row with a fixed
 * last dimension (`[batch, K]`, `[K]`, `[1, K]`).
 */
export function onnxRunLayout(
  name: string,
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
): OnnxRunLayout {
  const output = outputs[0];
  const refuse = (why: string): never => {
    throw new ModelError(ErrorCodes.MODEL_SHAPE, `model ${name}: ${why}`);
  };
  if (inputs.length === 0 || output === undefined)
    return refuse('the model needs at least one input and one output');

  const feeds = inputs.map((input) => inputFeed(input, refuse));
  const batched = feeds[0]!.batched;
  if (feeds.some((feed) => feed.batched !== batched)) {
    refuse(
      `inputs ${inputs.map((input) => `${input.name} [${input.shape.join(', ')}]`).join(', ')} ` +
        'mix a dynamic and a fixed batch dimension; all inputs must share one',
    );
  }
  const outWidth =
    output.shape.length === 1 && typeof output.shape[0] === 'string'
      ? 1
      : output.shape[output.shape.length - 1];
  // A row's output must be one vector: dims between the batch and the last one can only be 1.
  const middle = output.shape.slice(1, -1);
  if (
    output.type === 'non-tensor' ||
    typeof outWidth !== 'number' ||
    outWidth < 1 ||
    middle.some((d) => d !== 1)
  ) {
    return refuse(
      `first output ${output.name} is ${output.type} [${output.shape.join(', ')}]; need [batch, K] with a fixed K`,
    );
  }
  const first = feeds[0]!.feed;
  return {
    inputName: first.name,
    outputName: output.name,
    batched,
    rowDims: first.rowDims,
    inputs: feeds.map((f) => f.feed),
    inputWidth: feeds.reduce((n, f) => n + f.feed.width, 0),
    outputWidth: outWidth,
    rowTensors: feeds.map((f) => ({ name: f.feed.name, width: f.feed.width })),
  };
}

function inputFeed(input: TensorInfo, refuse: (why: string) => never): { feed: InputFeed; batched: boolean } {
  const shape = `${input.type} [${input.shape.join(', ')}]`;
  const type = FED_INPUT_TYPES.find((t) => t === input.type);
  if (type === undefined) {
    return refuse(
      `input ${input.name} is ${shape}; infergate feeds ${FED_INPUT_TYPES.join(', ')} [batch, N] (or [batch, C, H, W], ...)`,
    );
  }
  const dims = input.shape;
  const batchDim = dims.length >= 2 ? dims[0] : undefined;
  const batched = typeof batchDim === 'string';
  const valueDims = dims.length === 1 ? dims : dims.slice(1);
  if (valueDims.length === 0 || valueDims.some((d) => typeof d !== 'number' || d < 1)) {
    return refuse(
      `input ${input.name} is ${shape}; infergate feeds [batch, N] or [N] with fixed dimensions after the batch`,
    );
  }
  if (dims.length >= 2 && !batched && batchDim !== 1) {
    return refuse(`input ${input.name} is ${shape}; a fixed batch dimension must be 1`);
  }
  const width = (valueDims as number[]).reduce((n, d) => n * d, 1);
  // One row per call: the fixed dims as declared ([N] or [1, ...]); batched: the dims after the batch.
  const rowDims = batched ? (valueDims as number[]) : (dims as number[]);
  return { feed: { name: input.name, type, rowDims, width }, batched };
}
