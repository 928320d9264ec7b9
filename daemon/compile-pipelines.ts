import type { InfergateConfig, PipelineConfig } from './config.js';
import { ErrorCodes, ModelError } from './errors.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { ModelRunner, PayloadDecoder, StagedDecoder } from './ports.js';

/** A decoder made per pipeline, from that pipeline's config (an image decoder's size and normalisation). */
export interface DecoderFactory {
  forPipeline(config: PipelineConfig): PayloadDecoder | StagedDecoder;
}

/** The decoders the entry point wires, by `decoder` name: one shared function, or a factory per pipeline. */
export type Decoders = Readonly<Partial<Record<PipelineConfig['decoder'], PayloadDecoder | DecoderFactory>>>;

/** Compiles every pipeline of `config` against its loaded model (`models`, by name) and its decoder. */
export function compilePipelines(
  config: InfergateConfig,
  models: ReadonlyMap<string, ModelRunner>,
  decoders: Decoders,
): Pipeline[] {
  return config.pipelines.map((pipelineConfig) =>
    compilePipeline(pipelineConfig, models.get(pipelineConfig.model)!, decoderFor(pipelineConfig, decoders)),
  );
}

function decoderFor(config: PipelineConfig, decoders: Decoders): PayloadDecoder | StagedDecoder {
  const entry = decoders[config.decoder];
  if (entry === undefined) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `pipeline ${config.name}: no ${config.decoder} decoder is wired`,
    );
  }
  return typeof entry === 'function' ? entry : entry.forPipeline(config);
}
