import type { InfergateConfig } from './config.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { ModelRunner, PayloadDecoder } from './ports.js';

export type Decoders = Readonly<Record<InfergateConfig['pipelines'][number]['decoder'], PayloadDecoder>>;

/** Compiles every pipeline of `config` against its loaded model (`models`, by name) and its decoder. */
export function compilePipelines(
  config: InfergateConfig,
  models: ReadonlyMap<string, ModelRunner>,
  decoders: Decoders,
): Pipeline[] {
  return config.pipelines.map((pipelineConfig) =>
    compilePipeline(pipelineConfig, models.get(pipelineConfig.model)!, decoders[pipelineConfig.decoder]),
  );
}
