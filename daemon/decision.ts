import type { Decider } from './decider.js';
import type { RulesDecision } from './decision-rules.js';
import type { InfergateError } from './errors.js';
import type { Pipeline } from './pipeline.js';

/** Who decided: the pipeline's rules on model output, or its configured fallback. */
export type DecisionSource = 'model' | 'fallback';

/** Why the fallback was published instead of a model decision. */
export type FallbackReason = 'deadline' | 'overload' | 'invalid_input' | 'model_error' | 'expired';

export type DecisionReason = 'ok' | FallbackReason;

/**
 * What was decided for one event: exactly one per event id. Serialised by `decisionMessage`
 * (decision-message.ts) into the decision message, and kept in the decision log.
 *
 * Built only by `modelDecision` and `fallbackDecision`, every field in the same order, so all decisions
 * share one hidden class (see the note in intake.ts on objects made per event).
 */
export interface Decision {
  /** The label published: one of the rules' decisions, or the pipeline's fallback. */
  decision: string;
  /** The score the rules looked at (risk probability, or the top label's probability); null on fallback. */
  score: number | null;
  /** Argmax rules: label → probability, in output order; null otherwise. */
  scores: Record<string, number> | null;
  source: DecisionSource;
  reason: DecisionReason;
  /** `generate` LLM pipelines: the model's short reason; null otherwise. */
  explanation: string | null;
  /** Why the input was refused (`invalid_input` only); null otherwise. */
  error: InfergateError | null;
  /** Name of the model that decided (the pipeline's, or its canary candidate's). */
  model: string;
  /** Full sha256 of the model file. */
  modelSha256: string;
  /** From arrival at the gateway to the decision, ms. */
  latencyMs: number;
  /** When it was decided, ms since the epoch. */
  decidedAt: number;
}

/** A decision by the pipeline's rules on the output of `decider`'s model (the pipeline's, or its canary's). */
export function modelDecision(
  decider: Decider,
  decided: RulesDecision,
  explanation: string | null,
  latencyMs: number,
  decidedAt: number,
): Decision {
  return {
    decision: decided.decision,
    score: decided.score,
    scores: decided.scores,
    source: 'model',
    reason: 'ok',
    explanation,
    error: null,
    model: decider.modelRef.name,
    modelSha256: decider.model.info.sha256,
    latencyMs,
    decidedAt,
  };
}

/**
 * The pipeline's fallback decision, marked with why it stands in for a model decision; `decider` names the
 * model that was to decide (the pipeline's, or its canary's).
 */
export function fallbackDecision(
  pipeline: Pipeline,
  reason: FallbackReason,
  latencyMs: number,
  decidedAt: number,
  error: InfergateError | null = null,
  decider: Decider = pipeline,
): Decision {
  return {
    decision: pipeline.config.fallback,
    score: null,
    scores: null,
    source: 'fallback',
    reason,
    explanation: null,
    error,
    model: decider.modelRef.name,
    modelSha256: decider.model.info.sha256,
    latencyMs,
    decidedAt,
  };
}
