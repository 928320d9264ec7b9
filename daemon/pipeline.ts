import type { PipelineConfig } from './config.js';
import { compileDecisionRules, type CompiledDecisionRules } from './decision-rules.js';
import { ErrorCodes, ModelError } from './errors.js';
import { compileInputRow } from './input-mapping-row.js';
import type { EventFields, ModelRunner, PayloadDecoder } from './ports.js';
import { compilePromptTemplate } from './prompt-template.js';
import { matchTopic, stripSharePrefix } from './topics.js';

/** The model input of one event: a tensor row for tensor models, a rendered prompt for text models. */
export type EventInput = Float32Array | string;

/** A pipeline compiled against its loaded model: everything the per-event path needs, computed once. */
/** The decision message names a model by its name and this many leading hex digits of its sha256. */
export const MODEL_SHA_PREFIX_LENGTH = 12;

export interface Pipeline {
  readonly config: PipelineConfig;
  readonly model: ModelRunner;
  readonly modelRef: { name: string; sha256: string };
  readonly decoder: PayloadDecoder;
  /** Turns a decoded event into the model's input; throws InputError naming the field at fault. */
  readonly encode: (event: EventFields) => EventInput;
  readonly rules: CompiledDecisionRules;
  /** The `+`/`#` captures of `topic` against the subscription, or null when it is not this pipeline's. */
  match(topic: string): string[] | null;
}

export function compilePipeline(
  config: PipelineConfig,
  model: ModelRunner,
  decoder: PayloadDecoder,
): Pipeline {
  const rules = compileDecisionRules(config.decide, model.info.outputWidth, model.info.labels);
  const filter = stripSharePrefix(config.subscribe);
  return Object.freeze({
    config,
    model,
    modelRef: Object.freeze({
      name: model.info.name,
      sha256: model.info.sha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
    }),
    decoder,
    encode: compileEncoder(config, model),
    rules,
    match: (topic: string) => matchTopic(filter, topic),
  });
}

function compileEncoder(config: PipelineConfig, model: ModelRunner): (event: EventFields) => EventInput {
  if (model.inputKind === 'tensor') {
    if (config.input === null) throw shapeError(config, 'a tensor model needs an `input` mapping');
    const mapping = compileInputRow(config.input, model.info, config.name);
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
