/**
 * What the runtime adapters (onnx, llama) share: the load/dispose lifecycle of a ModelRunner and the
 * reading of a model file verified against its configured sha256.
 */
export { ModelLifecycle, type ModelLifecycleState, type ModelLifecycleSteps } from './lifecycle.js';
export {
  SHA_PREFIX,
  readModelCardLabels,
  readVerifiedModelFile,
  type VerifiedModelFile,
} from './model-file.js';
export { modelFileStamp, verifyModelPath, type VerifiedModelPath } from './verify-model-path.js';
