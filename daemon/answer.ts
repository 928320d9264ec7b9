import type { DecisionMessage, DecisionReason, DecisionSource } from './decision-message.js';
import { roundMs } from './decision-message.js';
import type { InfergateError } from './errors.js';
import { InputError } from './errors.js';
import type { Pipeline } from './pipeline.js';

/** A decision before it is serialised: from the rules, or a fallback with its reason. */
export interface Answer {
  decision: string;
  score: number | null;
  scores: Record<string, number> | null;
  source: DecisionSource;
  reason: DecisionReason;
  /** `generate` LLM pipelines: the model's short reason. */
  explanation?: string | null;
  /** Why the input was refused (`invalid_input` only). */
  error?: InfergateError;
}

export interface AnswerContext {
  eventId: string;
  pipeline: Pipeline;
  answer: Answer;
  latencyMs: number;
  decidedAt: number;
  gatewayId: string;
}

/** Serialises the decision message (DESIGN.md contract). Never includes the event's values. */
export function answerMessage(context: AnswerContext): string {
  const { answer, pipeline } = context;
  const message: DecisionMessage = {
    id: context.eventId,
    pipeline: pipeline.config.name,
    decision: answer.decision,
    score: answer.score === null ? null : roundScore(answer.score),
    source: answer.source,
    reason: answer.reason,
    model: pipeline.modelRef,
    latencyMs: roundMs(context.latencyMs),
    budgetMs: pipeline.config.budgetMs,
    ts: new Date(context.decidedAt).toISOString(),
    gateway: context.gatewayId,
  };
  if (answer.scores !== null) message.scores = answer.scores;
  if (answer.explanation !== undefined && answer.explanation !== null)
    message.explanation = answer.explanation;
  if (answer.error !== undefined) {
    const field = answer.error instanceof InputError ? answer.error.field : undefined;
    message.error = {
      code: answer.error.code,
      message: answer.error.message,
      ...(field === undefined ? {} : { field }),
    };
  }
  return JSON.stringify(message);
}

function roundScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}
