import type { PipelineConfig } from './config.js';
import type { Canary } from './canary.js';
import { modelRefOf, type Decider } from './decider.js';
import { compileDecisionRules } from './decision-rules.js';
import { ErrorCodes, InputError, ModelError } from './errors.js';
import { compileInputRow } from './input-mapping-row.js';
import type { EventFields, ModelRunner, PayloadDecoder, StagedDecoder } from './ports.js';
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
  /** The decode done in the message handler (all of it, for a decoder that is not staged). */
  readonly decoder: PayloadDecoder;
  /** The slow rest of a staged decoder's work, run after the event is acknowledged; null when there is none. */
  readonly completeDecode: StagedDecoder['complete'] | null;
  /** Whether the raw payload stays on record while the event is pending (recovery re-reads it). */
  readonly keepsPayload: boolean;
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
  decoder: PayloadDecoder | StagedDecoder,
  rollout: PipelineRollout = { shadow: null, canary: null },
): Pipeline {
  const staged = typeof decoder === 'function' ? null : decoder;
  const rules = compileDecisionRules(config.decide, model.info.outputWidth, model.info.labels);
  const filter = stripSharePrefix(config.subscribe);
  return Object.freeze({
    config,
    model,
    modelRef: modelRefOf(model),
    decoder: staged === null ? (decoder as PayloadDecoder) : staged.decode,
    completeDecode:
      staged === null ? null : (fields: EventFields, payload: Buffer) => staged.complete(fields, payload),
    keepsPayload: staged === null ? true : staged.keepsPayload,
    encode: compileEncoder(config, model),
    rules,
    match: (topic: string) => matchTopic(filter, topic),
    shadow: rollout.shadow,
    canary: rollout.canary,
  });
}

function compileEncoder(config: PipelineConfig, model: ModelRunner): (event: EventFields) => EventInput {
  if (model.inputKind === 'tensor') {
    if (config.input === null && config.image !== null) return compileImageEncoder(config, model);
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

/** The event field an image decoder puts its tensor in (see adapters/decoders/image). */
export const IMAGE_FIELD = 'image';

/** An image pipeline without an `input` mapping: the preprocessed image is the model's whole input row. */
function compileImageEncoder(config: PipelineConfig, model: ModelRunner): (event: EventFields) => EventInput {
  const { channels, height, width } = config.image!;
  const length = channels * height * width;
  if (model.info.inputWidth !== length) {
    throw shapeError(
      config,
      `the image is ${channels}×${height}×${width} = ${length} values but the model takes ${model.info.inputWidth}`,
    );
  }
  return (event) => {
    const image = event[IMAGE_FIELD];
    if (!(image instanceof Float32Array) || image.length !== length) {
      throw new InputError(
        ErrorCodes.INPUT_FIELD_INVALID,
        `${IMAGE_FIELD} must be ${length} decoded values`,
        IMAGE_FIELD,
      );
    }
    return image;
  };
}

function shapeError(config: PipelineConfig, message: string): ModelError {
  return new ModelError(
    ErrorCodes.MODEL_SHAPE,
    `pipeline ${config.name}: ${message} (model ${config.model})`,
  );
}
