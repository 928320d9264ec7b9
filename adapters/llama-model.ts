import type { ModelConfig } from '../config/types.js';
import { ErrorCodes, ModelError } from '../daemon/errors.js';
import type { Logger, ModelRunner } from '../daemon/ports.js';

/** GGUF models through node-llama-cpp. */
export function createLlamaModel(deps: { logger: Logger; model: ModelConfig }): ModelRunner {
  throw new ModelError(
    ErrorCodes.MODEL_LOAD,
    `model ${deps.model.name}: the llama runtime is not available yet`,
  );
}
