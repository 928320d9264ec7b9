/**
 * Runs a feature matrix through an ONNX model with onnxruntime-node, on this thread (a command-line tool
 * has no event loop to protect), with the session options the gateway's workers use, so latency and
 * numerics are what the gateway gets (ORT's graph rewrites at level "all" included). The input layout
 * rules are the gateway's (adapters/onnx/run-layout.ts), plus image-shaped inputs: float32
 * `[batch, C, H, W]` (or `[batch, H, W, C]`, any rank over 2) with fixed non-batch dimensions, one image per row.
 */
import { readFile } from 'node:fs/promises';
import { disableOnnxTelemetry } from '../../adapters/onnx/telemetry.js';
import type { InferenceSession } from 'onnxruntime-node';
import { onnxRunLayout, type OnnxRunLayout } from '../../adapters/onnx/run-layout.js';
import { ErrorCodes, InfergateError, ModelError } from '../../daemon/errors.js';
import type { TensorInfo } from '../../daemon/ports.js';

export interface ModelRun {
  /** Row-major `rows × outputWidth`. */
  outputs: Float32Array;
  /** Wall time of each `session.run` call (one per batch), milliseconds. */
  callMs: Float64Array;
  batch: number;
}

export interface OpenModel {
  layout: OnnxRunLayout;
  run(
    features: Float32Array,
    rows: number,
    batch: number,
    onProgress?: (rowsDone: number) => void,
  ): Promise<ModelRun>;
  close(): Promise<void>;
}

export async function readModelFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `cannot read model ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** IG_ERR_MODEL_LOAD when onnxruntime refuses the file, IG_ERR_MODEL_SHAPE for inputs infergate cannot feed. */
export async function openModel(file: string, bytes: Uint8Array, threads: number): Promise<OpenModel> {
  // Loaded here so commands that never run a model do not pay for the native runtime.
  disableOnnxTelemetry();
  const ort = await import('onnxruntime-node');
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new ModelError(
      ErrorCodes.MODEL_LOAD,
      `onnxruntime cannot load ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const describe = (metadata: readonly InferenceSession.ValueMetadata[]): TensorInfo[] =>
    metadata.map((m) =>
      m.isTensor
        ? { name: m.name, type: m.type, shape: [...m.shape] }
        : { name: m.name, type: 'non-tensor', shape: [] },
    );
  let layout: OnnxRunLayout;
  try {
    layout = onnxRunLayout(file, describe(session.inputMetadata), describe(session.outputMetadata));
  } catch (error) {
    await session.release();
    throw error;
  }
  return {
    layout,
    async run(features, rows, requestedBatch, onProgress) {
      const width = layout.inputWidth;
      const batch = layout.batched ? requestedBatch : 1;
      const outputs = new Float32Array(rows * layout.outputWidth);
      const callMs = new Float64Array(Math.ceil(rows / batch));
      for (let start = 0, call = 0; start < rows; start += batch, call++) {
        const count = Math.min(batch, rows - start);
        const slice = features.subarray(start * width, (start + count) * width);
        const dims = layout.batched ? [count, ...layout.rowDims] : layout.rowDims;
        const began = performance.now();
        const result = await session.run({ [layout.inputName]: new ort.Tensor('float32', slice, dims) }, [
          layout.outputName,
        ]);
        callMs[call] = performance.now() - began;
        const tensor = result[layout.outputName]!;
        if (tensor.type !== 'float32' || tensor.data.length !== count * layout.outputWidth) {
          throw new ModelError(
            ErrorCodes.MODEL_SHAPE,
            `${file}: output ${layout.outputName} is ${tensor.type} with ${tensor.data.length} values for ` +
              `${count} rows; eval needs float32 [batch, ${layout.outputWidth}]`,
          );
        }
        outputs.set(tensor.data as Float32Array, start * layout.outputWidth);
        onProgress?.(start + count);
      }
      return { outputs, callMs, batch };
    },
    close: () => session.release(),
  };
}
