/**
 * The `generate` answer: the JSON object `{"decision": <one of the labels>, "reason": <string of at most N
 * characters>}`, as a GBNF grammar with one fixed layout and a printable-ASCII reason. node-llama-cpp's
 * JSON-schema grammar would accept the same schema, but also free whitespace and `\uXXXX` escapes, so no token
 * cap could guarantee the object closes; here every token adds at least one byte and the whole answer is at
 * most `ANSWER_LAYOUT_BYTES + label + N` bytes, which config validation keeps within `maxAnswerTokens`.
 * The grammar constrains from the first token, so the answer can never open a `<think>` block, and the reason
 * cannot contain `<`.
 */
import { ErrorCodes, ModelError } from '../../daemon/errors.js';

const REASON_TEXT = /^[\x20-\x21\x23-\x3B\x3D-\x5B\x5D-\x7E]*$/;

export interface Answer {
  decision: string;
  reason: string;
}

export function answerGrammar(labels: readonly string[], reasonMaxChars: number): string {
  const decision = labels.map((label) => gbnfLiteral(jsonStringBody(label))).join(' | ');
  return [
    `root ::= ${gbnfLiteral('{"decision": "')} decision ${gbnfLiteral('", "reason": "')} reason ${gbnfLiteral('"}')}`,
    `decision ::= ${decision}`,
    // Printable ASCII except `"` and `\` (no escapes: one byte per character) and `<` (no tag, such as
    // `<think>`, can be spelled out).
    `reason ::= [\\x20-\\x21\\x23-\\x3B\\x3D-\\x5B\\x5D-\\x7E]{0,${reasonMaxChars}}`,
  ].join('\n');
}

/** The answer, or null while `text` is not yet a complete object (generation goes on). */
export function completeAnswer(text: string): unknown {
  if (!text.endsWith('}')) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Checks a parsed answer against the schema the grammar implements; IG_ERR_MODEL_RUN if it does not fit. */
export function validateAnswer(value: unknown, labels: readonly string[], reasonMaxChars: number): Answer {
  const fail = (why: string): never => {
    throw new ModelError(ErrorCodes.MODEL_RUN, `the model's answer does not match its schema: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not an object');
  const keys = Object.keys(value);
  if (keys.length !== 2 || !keys.includes('decision') || !keys.includes('reason')) {
    return fail(`keys ${keys.join(', ')}`);
  }
  const { decision, reason } = value as Record<string, unknown>;
  if (typeof decision !== 'string' || !labels.includes(decision)) return fail('decision is not a label');
  if (typeof reason !== 'string' || reason.length > reasonMaxChars) return fail('reason is too long');
  if (!REASON_TEXT.test(reason)) return fail('reason has characters the grammar excludes');
  return { decision, reason };
}

/** `text` as it appears between the quotes of a JSON string. */
function jsonStringBody(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function gbnfLiteral(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
