import { MODEL_SHA_PREFIX_LENGTH } from './decider.js';
import type { Decision, DecisionReason, DecisionSource } from './decision.js';
import { InputError } from './errors.js';
import type { Pipeline } from './pipeline.js';

/** The decision message's JSON (DESIGN.md, external contract). */
interface DecisionMessageJson {
  id: string;
  pipeline: string;
  decision: string;
  score: number | null;
  scores?: Record<string, number>;
  explanation?: string;
  source: DecisionSource;
  reason: DecisionReason;
  /** Model name and the first MODEL_SHA_PREFIX_LENGTH hex digits of its sha256. */
  model: { name: string; sha256: string };
  latencyMs: number;
  budgetMs: number;
  /** ISO 8601 time of the decision. */
  ts: string;
  gateway: string;
  /** Set on `invalid_input`: the error code and the field at fault, never the offending value. */
  error?: { code: string; field?: string; message: string };
}

/**
 * Serialises a decision into the decision message published for event `eventId` (DESIGN.md, external
 * contract). Never includes the event's values.
 */
export function decisionMessage(
  decision: Decision,
  eventId: string,
  pipeline: Pipeline,
  gatewayId: string,
): string {
  const message: DecisionMessageJson = {
    id: eventId,
    pipeline: pipeline.config.name,
    decision: decision.decision,
    score: decision.score === null ? null : roundScore(decision.score),
    source: decision.source,
    reason: decision.reason,
    model:
      decision.modelSha256 === pipeline.model.info.sha256
        ? pipeline.modelRef
        : { name: decision.model, sha256: decision.modelSha256.slice(0, MODEL_SHA_PREFIX_LENGTH) },
    latencyMs: roundMs(decision.latencyMs),
    budgetMs: pipeline.config.budgetMs,
    ts: new Date(decision.decidedAt).toISOString(),
    gateway: gatewayId,
  };
  if (decision.scores !== null) message.scores = decision.scores;
  if (decision.explanation !== null) message.explanation = decision.explanation;
  if (decision.error !== null) {
    const field = decision.error instanceof InputError ? decision.error.field : undefined;
    message.error = {
      code: decision.error.code,
      message: decision.error.message,
      ...(field === undefined ? {} : { field }),
    };
  }
  return JSON.stringify(message);
}

function roundScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
