import { Canary } from './canary.js';
import type { InfergateConfig, PipelineConfig } from './config.js';
import { compileCandidate } from './decider.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { ModelRunner, PayloadDecoder } from './ports.js';

export type Decoders = Readonly<Record<InfergateConfig['pipelines'][number]['decoder'], PayloadDecoder>>;

/** Compiles every pipeline of `config` against its loaded models (`models`, by name) and its decoder. */
export function compilePipelines(
  config: InfergateConfig,
  models: ReadonlyMap<string, ModelRunner>,
  decoders: Decoders,
): Pipeline[] {
  return config.pipelines.map((pipelineConfig) => {
    const live = models.get(pipelineConfig.model)!;
    const shadow =
      pipelineConfig.shadow === null
        ? null
        : compileCandidate(pipelineConfig, live, models.get(pipelineConfig.shadow)!, 'shadow');
    const canary =
      pipelineConfig.canary === null
        ? null
        : new Canary(
            pipelineConfig.canary,
            compileCandidate(pipelineConfig, live, models.get(pipelineConfig.canary.model)!, 'canary'),
          );
    return compilePipeline(pipelineConfig, live, decoders[pipelineConfig.decoder], { shadow, canary });
  });
}

/** The models a pipeline needs loaded: its own, its shadow's and its canary's. */
export function pipelineModels(pipeline: PipelineConfig): string[] {
  const names = [pipeline.model];
  if (pipeline.shadow !== null) names.push(pipeline.shadow);
  if (pipeline.canary !== null) names.push(pipeline.canary.model);
  return names;
}
