/**
 * Messages between adapters/onnx/worker-pool.ts (main thread) and adapters/onnx/worker.ts (worker threads).
 * One worker holds the sessions of several models, each under the pool's numeric key. Types only: both
 * sides import it, neither pulls the other in.
 */
import type { TensorInfo } from '../../daemon/ports.js';

/** One model input: which values of a row it takes and the element type they are converted to. */
export interface InputFeed {
  name: string;
  type: 'float32' | 'float16' | 'uint8' | 'int8';
  /** Dims of one row's tensor: after the batch dimension when batched, else as the model declares them. */
  rowDims: number[];
  /** Values per row, product(rowDims). */
  width: number;
}

/** How one `run` is fed to the session. */
export interface RunLayout {
  /** The first input (`inputs[0]`). */
  inputName: string;
  outputName: string;
  /**
   * true: one session call with input dims `[rows, ...rowDims]`. false: the model takes one row per call
   * (input `[N]` or `[1, N]`), so the worker calls it once per row with dims `rowDims`.
   */
  batched: boolean;
  /** Of the first input. */
  rowDims: number[];
  /** Every input, in row order: a row is the values of inputs[0], then inputs[1], ... */
  inputs: InputFeed[];
}

export type WorkerRequest =
  /** Create a session from the verified model bytes (never from the path). */
  | { type: 'load'; key: number; modelBytes: Uint8Array; intraOpThreads: number }
  | { type: 'unload'; key: number }
  | { type: 'run'; id: number; key: number; input: Float32Array; rows: number; layout: RunLayout }
  /** Release every session and exit. */
  | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

export interface SessionMetadata {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  runtimeVersion: string;
}

export type WorkerReply =
  /** The worker has imported onnxruntime and takes requests. */
  | { type: 'up' }
  | ({ type: 'loaded'; key: number } & SessionMetadata)
  | { type: 'loadFailed'; key: number; error: SerializedError }
  | { type: 'unloaded'; key: number }
  /** `outputs` is the first output, row-major, converted to float32. */
  | { type: 'result'; id: number; outputs: Float32Array; inferenceMs: number }
  | { type: 'runFailed'; id: number; error: SerializedError };
