/**
 * ONNX adapter: a ModelRunner per model (onnxruntime-node, CPU) whose sessions live on worker threads; one
 * pool of threads may be shared by every ONNX model of the gateway.
 */
import { OnnxWorkerPool, type OnnxWorkerPoolOptions } from './worker-pool.js';

export { createOnnxModel, type OnnxModelDeps } from './model.js';
export type { OnnxWorkerPool, OnnxWorkerPoolOptions };

/** Does no I/O: threads start when a model is added and stop when no model needs them. */
export function createOnnxWorkerPool(options: OnnxWorkerPoolOptions): OnnxWorkerPool {
  return new OnnxWorkerPool(options);
}
