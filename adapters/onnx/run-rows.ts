/**
 * One `run` of the ONNX adapter on a NativeSession: the rows fed as the layout says (one call for a batched
 * model, one call per row for a model without a batch dimension), the first output returned as float32,
 * `rows × outputWidth` values. Synchronous: the worker threads and the inline placement both call it.
 */
import { feedValues } from './input-feeds.js';
import { Tensor, type NativeSession } from './native-session.js';
import type { RunLayout } from './worker-protocol.js';

export function runRows(
  session: NativeSession,
  input: Float32Array,
  rows: number,
  layout: RunLayout,
): Float32Array {
  const rowWidth = input.length / rows;
  if (layout.batched) return call(session, input, rows, rowWidth, layout);
  const out: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    out.push(call(session, input.subarray(row * rowWidth, (row + 1) * rowWidth), 1, rowWidth, layout));
  }
  const joined = new Float32Array(out.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of out) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function call(
  session: NativeSession,
  values: Float32Array,
  count: number,
  rowWidth: number,
  layout: RunLayout,
): Float32Array {
  const feeds: Record<string, Tensor> = {};
  let offset = 0;
  for (const feed of layout.inputs) {
    const dims = layout.batched ? [count, ...feed.rowDims] : feed.rowDims;
    feeds[feed.name] = new Tensor(feed.type, feedValues(values, count, rowWidth, offset, feed), dims);
    offset += feed.width;
  }
  const output = session.run(feeds);
  const data = output.data;
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint8Array) {
    return Float32Array.from(data);
  }
  throw new Error(
    `output ${layout.outputName} has element type ${output.type}, not a number type infergate reads`,
  );
}
