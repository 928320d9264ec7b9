import type { PipelineConfig } from './config.js';
import { compileDecisionRules, type CompiledDecisionRules } from './decision-rules.js';
import { ErrorCodes, ModelError } from './errors.js';
import type { ModelRunner } from './ports.js';

/** The decision message names a model by its name and this many leading hex digits of its sha256. */
export const MODEL_SHA_PREFIX_LENGTH = 12;

/**
 * A model with the pipeline's decision rules compiled against it: what turns a row of the pipeline's input
 * into a decision. The pipeline's own model is one (a Pipeline is a Decider); a shadow or a canary
 * candidate is another, on the same input row.
 */
export interface Decider {
  readonly model: ModelRunner;
  readonly modelRef: { name: string; sha256: string };
  readonly rules: CompiledDecisionRules;
}

export function modelRefOf(model: ModelRunner): { name: string; sha256: string } {
  return Object.freeze({
    name: model.info.name,
    sha256: model.info.sha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
  });
}

/**
 * Compiles `config`'s rules against a candidate model that takes the live model's input row as it is: both
 * must be tensor models of the same input width (IG_ERR_MODEL_SHAPE otherwise).
 */
export function compileCandidate(
  config: PipelineConfig,
  live: ModelRunner,
  candidate: ModelRunner,
  role: 'shadow' | 'canary',
): Decider {
  if (live.inputKind !== 'tensor' || candidate.inputKind !== 'tensor') {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `pipeline ${config.name}: the ${role} model ${candidate.info.name} and the pipeline model must be tensor models`,
    );
  }
  if (candidate.info.inputWidth !== live.info.inputWidth) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `pipeline ${config.name}: the ${role} model ${candidate.info.name} takes ${candidate.info.inputWidth} ` +
        `values per row, the pipeline model ${live.info.inputWidth}`,
    );
  }
  return Object.freeze({
    model: candidate,
    modelRef: modelRefOf(candidate),
    rules: compileDecisionRules(config.decide, candidate.info.outputWidth, candidate.info.labels),
  });
}
