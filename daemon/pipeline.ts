import type { PipelineConfig } from './config.js';
import type { Canary } from './canary.js';
import { modelRefOf, type Decider } from './decider.js';
import { compileDecisionRules } from './decision-rules.js';
import { ErrorCodes, ModelError } from './errors.js';
import { assertModelWidth, compileInputMapping } from './input-mapping.js';
import type { EventFields, ModelRunner, PayloadDecoder } from './ports.js';
import { compilePromptTemplate } from './prompt-template.js';
import { matchTopic, stripSharePrefix } from './topics.js';

/** The model input of one event: a tensor row for tensor models, a rendered prompt for text models. */
export type EventInput = Float32Array | string;

export { MODEL_SHA_PREFIX_LENGTH } from './decider.js';

/** A shadow and a canary of a pipeline, compiled against their loaded models (see decider.ts, canary.ts). */
export interface PipelineRollout {
  shadow: Decider | null;
  canary: Canary | null;
}

/** A pipeline compiled against its loaded model: everything the per-event path needs, computed once. */
export interface Pipeline extends Decider {
  readonly config: PipelineConfig;
  readonly model: ModelRunner;
  readonly modelRef: { name: string; sha256: string };
  readonly decoder: PayloadDecoder;
  /** Turns a decoded event into the model's input; throws InputError naming the field at fault. */
  readonly encode: (event: EventFields) => EventInput;
  /** The `+`/`#` captures of `topic` against the subscription, or null when it is not this pipeline's. */
  match(topic: string): string[] | null;
  /** Runs on the same events off the critical path, recorded and never published; null when none. */
  readonly shadow: Decider | null;
  /** Decides a stable share of the events instead of `model`; null when none. */
  readonly canary: Canary | null;
}

export function compilePipeline(
  config: PipelineConfig,
  model: ModelRunner,
  decoder: PayloadDecoder,
  rollout: PipelineRollout = { shadow: null, canary: null },
): Pipeline {
  const rules = compileDecisionRules(config.decide, model.info.outputWidth, model.info.labels);
  const filter = stripSharePrefix(config.subscribe);
  return Object.freeze({
    config,
    model,
    modelRef: modelRefOf(model),
    decoder,
    encode: compileEncoder(config, model),
    rules,
    match: (topic: string) => matchTopic(filter, topic),
    shadow: rollout.shadow,
    canary: rollout.canary,
  });
}

function compileEncoder(config: PipelineConfig, model: ModelRunner): (event: EventFields) => EventInput {
  if (model.inputKind === 'tensor') {
    if (config.input === null) throw shapeError(config, 'a tensor model needs an `input` mapping');
    const mapping = compileInputMapping(config.input);
    assertModelWidth(mapping, model.info.inputWidth, config.name);
    const width = mapping.width;
    return (event) => {
      const row = new Float32Array(width);
      mapping.fill(event, row, 0);
      return row;
    };
  }
  if (config.prompt === null) throw shapeError(config, 'a text model needs a `prompt`');
  const prompt = compilePromptTemplate(config.prompt);
  return (event) => {
    const text = prompt.render(event);
    model.checkInput?.(text);
    return text;
  };
}

function shapeError(config: PipelineConfig, message: string): ModelError {
  return new ModelError(
    ErrorCodes.MODEL_SHAPE,
    `pipeline ${config.name}: ${message} (model ${config.model})`,
  );
}
