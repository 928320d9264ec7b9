import { MODEL_SHA_PREFIX_LENGTH } from './decider.js';
import type { Decision } from './decision.js';
import { InputError, type InfergateError } from './errors.js';
import type { Pipeline } from './pipeline.js';

/*
 * The decision message's JSON (DESIGN.md, external contract), in this key order:
 *   id, pipeline, decision, score (number | null), source, reason,
 *   model {name, sha256: the first MODEL_SHA_PREFIX_LENGTH hex digits}, latencyMs, budgetMs,
 *   ts (ISO 8601 time of the decision), gateway,
 *   then only when set: scores (label → probability), explanation, error {code, message, field?}.
 * `error` is set on `invalid_input`: the error code and the field at fault, never the offending value.
 *
 * It is written as a string rather than built as an object and stringified: it is made once per event on
 * the main thread, and the object, its nested model object and the Date cost several microseconds. The text
 * is the same as JSON.stringify of that object (test/decision-message.test.ts compares them).
 */

/** A pipeline's parts of the message that are the same for every event, already serialised. */
interface PipelineParts {
  gatewayId: string;
  /** `"pipeline":…` */
  pipeline: string;
  /** The full sha256 of the pipeline's model, and its `{"name":…,"sha256":…}`. */
  modelSha256: string;
  model: string;
  /** `"budgetMs":…` */
  budgetMs: string;
  /** `"gateway":…` */
  gateway: string;
}

const partsByPipeline = new WeakMap<Pipeline, PipelineParts>();

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
  const parts = pipelineParts(pipeline, gatewayId);
  const model =
    decision.modelSha256 === parts.modelSha256
      ? parts.model
      : JSON.stringify({
          name: decision.model,
          sha256: decision.modelSha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
        });
  const score = decision.score === null ? 'null' : jsonNumber(roundScore(decision.score));
  // source and reason are fixed identifiers (DecisionSource, DecisionReason): nothing in them to escape.
  let json =
    `{"id":${JSON.stringify(eventId)},${parts.pipeline},"decision":${JSON.stringify(decision.decision)},` +
    `"score":${score},"source":"${decision.source}","reason":"${decision.reason}","model":${model},` +
    `"latencyMs":${jsonNumber(roundMs(decision.latencyMs))},${parts.budgetMs},` +
    `"ts":"${isoTime(decision.decidedAt)}",${parts.gateway}`;
  if (decision.scores !== null) json += `,"scores":${JSON.stringify(decision.scores)}`;
  if (decision.explanation !== null) json += `,"explanation":${JSON.stringify(decision.explanation)}`;
  if (decision.error !== null) json += `,"error":${JSON.stringify(errorJson(decision.error))}`;
  return `${json}}`;
}

function pipelineParts(pipeline: Pipeline, gatewayId: string): PipelineParts {
  const known = partsByPipeline.get(pipeline);
  if (known !== undefined && known.gatewayId === gatewayId) return known;
  const parts: PipelineParts = {
    gatewayId,
    pipeline: `"pipeline":${JSON.stringify(pipeline.config.name)}`,
    modelSha256: pipeline.model.info.sha256,
    model: JSON.stringify(pipeline.modelRef),
    budgetMs: `"budgetMs":${JSON.stringify(pipeline.config.budgetMs)}`,
    gateway: `"gateway":${JSON.stringify(gatewayId)}`,
  };
  partsByPipeline.set(pipeline, parts);
  return parts;
}

function errorJson(error: InfergateError): { code: string; message: string; field?: string } {
  const field = error instanceof InputError ? error.field : undefined;
  return field === undefined
    ? { code: error.code, message: error.message }
    : { code: error.code, message: error.message, field };
}

/** As JSON.stringify prints a number: NaN and ±Infinity become null. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * `new Date(ms).toISOString()`. Decisions come many per second, so the text up to the second is kept from
 * the previous call and only the milliseconds are written.
 */
let isoSecond = Number.NaN;
let isoPrefix = '';
function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    // NaN never equals itself, so an invalid time always lands here and throws as toISOString does.
    isoPrefix = new Date(whole).toISOString().slice(0, -4);
    isoSecond = second;
  }
  const milli = whole - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function roundScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
