import { createOnnxModel, createOnnxWorkerPool, type OnnxWorkerPool } from '../adapters/onnx/index.js';
import type { InfergateConfig } from '../daemon/config.js';
import type { Logger, ModelRunner } from '../daemon/ports.js';

/** Builds a runner per configured model; see `modelFactory`. */
export type ModelFactory = (config: InfergateConfig) => Promise<Map<string, ModelRunner>>;

/**
 * Everything one factory builds, including the models of a later SIGHUP reload, shares one pool of ONNX
 * worker threads (each thread is an isolate of ~8 MiB resident); its threads exist only while some model is
 * loaded on them. The LLM runtime (node-llama-cpp and its native binaries) is imported only when a `llama`
 * model is configured, so a box with ONNX pipelines only never pays for it at start.
 */
export function modelFactory(logger: Logger): ModelFactory {
  let onnxPool: OnnxWorkerPool | undefined;
  return (config) => {
    onnxPool ??= createOnnxWorkerPool({ name: 'shared', logger: logger.child({ component: 'onnx-pool' }) });
    return createModels(config, logger, onnxPool);
  };
}

async function createModels(
  config: InfergateConfig,
  logger: Logger,
  onnxPool: OnnxWorkerPool,
): Promise<Map<string, ModelRunner>> {
  const models = new Map<string, ModelRunner>();
  for (const [name, model] of Object.entries(config.models)) {
    if (model.runtime === 'onnx') {
      models.set(name, createOnnxModel({ logger, model, pool: onnxPool }));
    } else {
      const { createLlamaModel } = await import('../adapters/llama/index.js');
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
