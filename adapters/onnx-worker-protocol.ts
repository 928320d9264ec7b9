/**
 * Messages between adapters/onnx-model.ts (main thread) and adapters/onnx-worker.ts (one worker thread
 * per session). Types only: both sides import it, neither pulls the other in.
 */
import type { TensorInfo } from '../daemon/ports.js';

export interface OnnxWorkerData {
  /** The verified model bytes; the worker builds its session from these, never from the path. */
  modelBytes: Uint8Array;
  intraOpThreads: number;
}

/** How one `run` is fed to the session. */
export interface RunLayout {
  inputName: string;
  outputName: string;
  /**
   * true: one session call with input dims `[rows, ...rowDims]`. false: the model takes one row per call
   * (input `[N]` or `[1, N]`), so the worker calls it once per row with dims `rowDims`.
   */
  batched: boolean;
  rowDims: number[];
}

export type WorkerRequest =
  { type: 'run'; id: number; input: Float32Array; rows: number; layout: RunLayout } | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

export type WorkerReply =
  | { type: 'ready'; inputs: TensorInfo[]; outputs: TensorInfo[]; runtimeVersion: string }
  | { type: 'loadFailed'; error: SerializedError }
  /** `outputs` is the first output, row-major, converted to float32. */
  | { type: 'result'; id: number; outputs: Float32Array; inferenceMs: number }
  | { type: 'runFailed'; id: number; error: SerializedError };
