import { createOnnxModel } from '../adapters/onnx-model.js';
import { OnnxWorkerPool } from '../adapters/onnx-worker-pool.js';
import type { InfergateConfig } from '../config/types.js';
import type { Logger, ModelRunner } from '../daemon/ports.js';

/**
 * One pool of ONNX worker threads for the whole process, so every ONNX model, including those a SIGHUP
 * reload brings, shares the same threads (each thread is an isolate of ~8 MiB resident). Its threads
 * exist only while some model is loaded on them.
 */
let onnxPool: OnnxWorkerPool | undefined;

/**
 * Builds a runner per configured model. The LLM runtime (node-llama-cpp and its native binaries) is imported
 * only when a `llama` model is configured, so a box with ONNX pipelines only never pays for it at start.
 */
export async function createModels(
  config: InfergateConfig,
  logger: Logger,
): Promise<Map<string, ModelRunner>> {
  const models = new Map<string, ModelRunner>();
  for (const [name, model] of Object.entries(config.models)) {
    if (model.runtime === 'onnx') {
      onnxPool ??= new OnnxWorkerPool({ name: 'shared', logger: logger.child({ component: 'onnx-pool' }) });
      models.set(name, createOnnxModel({ logger, model, pool: onnxPool }));
    } else {
      const { createLlamaModel } = await import('../adapters/llama-model.js');
      // Validation lets one prompt pipeline use a llama model: the prompt is part of what the model loads.
      const pipeline = config.pipelines.find((p) => p.model === name && p.prompt !== null);
      models.set(
        name,
        createLlamaModel({
          logger,
          model,
          pipeline:
            pipeline === undefined
              ? null
              : { name: pipeline.name, prompt: pipeline.prompt!, budgetMs: pipeline.budgetMs },
        }),
      );
    }
  }
  return models;
}
