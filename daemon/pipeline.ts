import type { PipelineConfig } from '../config/types.js';
import { compileDecisionRules, type CompiledDecision } from './decision.js';
import { assertModelWidth, compileInputMapping, type CompiledInputMapping } from './input-mapping.js';
import { MODEL_SHA_PREFIX_LENGTH } from './decision-message.js';
import type { ModelRunner, PayloadDecoder } from './ports.js';
import { matchTopic } from './topics.js';

/** A pipeline compiled against its loaded model: everything the per-event path needs, computed once. */
export interface Pipeline {
  readonly config: PipelineConfig;
  readonly model: ModelRunner;
  readonly modelRef: { name: string; sha256: string };
  readonly decoder: PayloadDecoder;
  readonly mapping: CompiledInputMapping;
  readonly rules: CompiledDecision;
  /** The `+`/`#` captures of `topic` against the subscription, or null when it is not this pipeline's. */
  match(topic: string): string[] | null;
}

export function compilePipeline(
  config: PipelineConfig,
  model: ModelRunner,
  decoder: PayloadDecoder,
): Pipeline {
  const mapping = compileInputMapping(config.input);
  assertModelWidth(mapping, model.info.inputWidth, config.name);
  const rules = compileDecisionRules(config.decide, model.info.outputWidth, model.info.labels);
  const filter = config.subscribe;
  return Object.freeze({
    config,
    model,
    modelRef: Object.freeze({
      name: model.info.name,
      sha256: model.info.sha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
    }),
    decoder,
    mapping,
    rules,
    match: (topic: string) => matchTopic(filter, topic),
  });
}
