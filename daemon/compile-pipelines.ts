import { Canary } from './canary.js';
import type { InfergateConfig, PipelineConfig } from './config.js';
import { compileCandidate } from './decider.js';
import { ConfigError } from './errors.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { ModelRunner, PayloadDecoder, StagedDecoder } from './ports.js';

/** A decoder made per pipeline, from that pipeline's config (an image decoder's size and normalisation). */
export interface DecoderFactory<D extends PayloadDecoder | StagedDecoder = PayloadDecoder | StagedDecoder> {
  forPipeline(config: PipelineConfig): D;
}

/** The decoders the entry point wires, by `decoder` name: one shared function, or a factory per pipeline. */
export type Decoders = Readonly<Partial<Record<PipelineConfig['decoder'], PayloadDecoder | DecoderFactory>>>;

/**
 * Compiles every pipeline of `config` against its loaded models (`models`, by name) and its decoder.
 * Throws on the first model that does not fit its pipeline, after telling `onMisfit` which model it is.
 */
export function compilePipelines(
  config: InfergateConfig,
  models: ReadonlyMap<string, ModelRunner>,
  decoders: Decoders,
  onMisfit?: (model: string, error: unknown) => void,
): Pipeline[] {
  const blame = <T>(model: string, compile: () => T): T => {
    try {
      return compile();
    } catch (error) {
      onMisfit?.(model, error);
      throw error;
    }
  };
  return config.pipelines.map((pipelineConfig, index) => {
    const live = models.get(pipelineConfig.model)!;
    const { shadow: shadowName, canary: canaryConfig } = pipelineConfig;
    const shadow =
      shadowName === null
        ? null
        : blame(shadowName, () => compileCandidate(pipelineConfig, live, models.get(shadowName)!, 'shadow'));
    const canary =
      canaryConfig === null
        ? null
        : blame(
            canaryConfig.model,
            () =>
              new Canary(
                canaryConfig,
                compileCandidate(pipelineConfig, live, models.get(canaryConfig.model)!, 'canary'),
              ),
          );
    return blame(pipelineConfig.model, () =>
      compilePipeline(pipelineConfig, live, decoderFor(pipelineConfig, index, decoders), { shadow, canary }),
    );
  });
}

/** The models a pipeline needs loaded: its own, its shadow's and its canary's. */
export function pipelineModels(pipeline: PipelineConfig): string[] {
  const names = [pipeline.model];
  if (pipeline.shadow !== null) names.push(pipeline.shadow);
  if (pipeline.canary !== null) names.push(pipeline.canary.model);
  return names;
}

function decoderFor(
  pipeline: PipelineConfig,
  index: number,
  decoders: Decoders,
): PayloadDecoder | StagedDecoder {
  const entry = decoders[pipeline.decoder];
  if (entry === undefined) {
    throw new ConfigError([
      {
        path: `pipelines[${index}].decoder`,
        message: `${pipeline.decoder} is not available in this gateway`,
      },
    ]);
  }
  return typeof entry === 'function' ? entry : entry.forPipeline(pipeline);
}
