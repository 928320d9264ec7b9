import type { InfergateConfig, PipelineConfig } from './config.js';
import { ConfigError } from './errors.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { ModelRunner, PayloadDecoder } from './ports.js';

/** Makes the decoder of one pipeline, for decoders that take per-pipeline settings (payload limit, shape). */
export interface DecoderFactory {
  forPipeline(pipeline: PipelineConfig): PayloadDecoder;
}

/** By decoder name: one decoder shared by every pipeline naming it, or a factory making one per pipeline. */
export type Decoders = Readonly<Partial<Record<PipelineConfig['decoder'], PayloadDecoder | DecoderFactory>>>;

/** Compiles every pipeline of `config` against its loaded model (`models`, by name) and its decoder. */
export function compilePipelines(
  config: InfergateConfig,
  models: ReadonlyMap<string, ModelRunner>,
  decoders: Decoders,
): Pipeline[] {
  return config.pipelines.map((pipelineConfig, index) =>
    compilePipeline(
      pipelineConfig,
      models.get(pipelineConfig.model)!,
      decoderFor(pipelineConfig, index, decoders),
    ),
  );
}

function decoderFor(pipeline: PipelineConfig, index: number, decoders: Decoders): PayloadDecoder {
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
