import type { InputLimits, PipelineConfig } from '../../daemon/config.js';
import { ConfigError } from '../../daemon/errors.js';
import type { DecoderFactory } from '../../daemon/compile-pipelines.js';
import type { PayloadDecoder } from '../../daemon/ports.js';
import { createJsonDecoder } from './json-decoder.js';
import { createTensorDecoder } from './tensor-decoder.js';

/** The payload limit of one pipeline: its own `maxPayloadBytes`, else the gateway's. */
export function pipelinePayloadLimit(limits: InputLimits, pipeline: PipelineConfig): number {
  return pipeline.maxPayloadBytes ?? limits.maxPayloadBytes;
}

/** Decoders made per pipeline, so each takes that pipeline's payload limit (and tensor spec). */
export function createPipelineDecoders(limits: InputLimits): {
  json: DecoderFactory<PayloadDecoder>;
  tensor: DecoderFactory<PayloadDecoder>;
} {
  return {
    json: {
      forPipeline: (pipeline) =>
        createJsonDecoder({
          limits: { ...limits, maxPayloadBytes: pipelinePayloadLimit(limits, pipeline) },
          ...(pipeline.maxPayloadBytes == null
            ? {}
            : { payloadLimitKey: `pipeline ${pipeline.name} maxPayloadBytes` }),
        }),
    },
    tensor: {
      forPipeline: (pipeline) => {
        if (pipeline.tensor === undefined || pipeline.tensor === null) {
          throw new ConfigError([
            { path: `pipelines.${pipeline.name}.tensor`, message: 'is required with decoder: tensor' },
          ]);
        }
        return createTensorDecoder({
          tensor: pipeline.tensor,
          maxPayloadBytes: pipelinePayloadLimit(limits, pipeline),
        });
      },
    },
  };
}
