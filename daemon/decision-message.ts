/** The decision message published for every event (DESIGN.md, external contract). */

export type DecisionSource = 'model' | 'fallback';

export type DecisionReason = 'ok' | 'deadline' | 'overload' | 'invalid_input' | 'model_error' | 'expired';

export interface DecisionMessage {
  id: string;
  pipeline: string;
  decision: string;
  /** The score the rules looked at (risk probability, or the top label's probability); null on fallback. */
  score: number | null;
  /** Per-label probabilities for label models. */
  scores?: Record<string, number>;
  /** `generate` LLM pipelines: the model's short reason for its answer. */
  explanation?: string;
  source: DecisionSource;
  reason: DecisionReason;
  /** Model name and the first 12 hex digits of its sha256. */
  model: { name: string; sha256: string };
  /** From arrival at the gateway to the decision, milliseconds. */
  latencyMs: number;
  budgetMs: number;
  /** ISO 8601 time of the decision. */
  ts: string;
  gateway: string;
  /** Set on `invalid_input`: the error code and the field at fault, never the offending value. */
  error?: { code: string; field?: string; message: string };
}

export const MODEL_SHA_PREFIX_LENGTH = 12;

export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
