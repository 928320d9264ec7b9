/**
 * The decision message is written as a string; it must be the very text JSON.stringify gives for the
 * message object (key order, rounding, escapes, optional keys), for every kind of decision.
 */
import t from 'tap';
import { MODEL_SHA_PREFIX_LENGTH } from '../daemon/decider.js';
import { decisionMessage } from '../daemon/decision-message.js';
import type { Decision, DecisionReason, DecisionSource } from '../daemon/decision.js';
import { ErrorCodes, InfergateError, InputError, ModelError } from '../daemon/errors.js';
import type { Pipeline } from '../daemon/pipeline.js';

/** The message as an object, stringified: the straightforward form of the contract. */
function reference(decision: Decision, eventId: string, pipeline: Pipeline, gatewayId: string): string {
  const message: Record<string, unknown> = {
    id: eventId,
    pipeline: pipeline.config.name,
    decision: decision.decision,
    score: decision.score === null ? null : Math.round(decision.score * 1e6) / 1e6,
    source: decision.source,
    reason: decision.reason,
    model:
      decision.modelSha256 === pipeline.model.info.sha256
        ? pipeline.modelRef
        : { name: decision.model, sha256: decision.modelSha256.slice(0, MODEL_SHA_PREFIX_LENGTH) },
    latencyMs: Math.round(decision.latencyMs * 100) / 100,
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

function pipelineOf(name: string, model: string, sha256: string, budgetMs: number): Pipeline {
  const modelRef = Object.freeze({ name: model, sha256: sha256.slice(0, MODEL_SHA_PREFIX_LENGTH) });
  return Object.freeze({
    config: { name, budgetMs },
    model: { info: { name: model, sha256 } },
    modelRef,
  }) as unknown as Pipeline;
}

/** A small deterministic generator, so a failure names a reproducible case. */
function generator(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

const SHA_A = 'a'.repeat(64);
const SHA_B = '0123456789abcdef'.repeat(4);
const STRINGS = [
  'plain',
  '',
  'quote " and \\ backslash',
  'line\nbreak\ttab\u0001',
  'ünïcödé ✓ 🚀',
  '\ud800 lone',
];
const NUMBERS = [
  0,
  -0,
  1,
  0.5,
  1e-7,
  4.9999995e-7,
  0.1234565,
  0.7999996,
  -0.25,
  1e21,
  123456.789,
  NaN,
  Infinity,
];
const REASONS: [DecisionSource, DecisionReason][] = [
  ['model', 'ok'],
  ['fallback', 'deadline'],
  ['fallback', 'overload'],
  ['fallback', 'model_error'],
  ['fallback', 'invalid_input'],
  ['fallback', 'expired'],
];

t.test('the same text as JSON.stringify of the message object, for many decisions', async (t) => {
  const random = generator(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pipelines = [
    pipelineOf('atm-risk', 'atm-risk', SHA_A, 300),
    pipelineOf('line "7" \\ inspection', 'cnn ✓', SHA_B, 150.5),
  ];
  const gateways = ['gw-1', 'gw "2"'];
  const start = Date.UTC(2025, 0, 31, 23, 59, 59, 990);
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const pipeline = pick(pipelines);
    const [source, reason] = pick(REASONS);
    const canary = random() < 0.2;
    const errorKind = random();
    const decision: Decision = {
      decision: random() < 0.8 ? pick(['accept', 'review', 'reject']) : pick(STRINGS),
      score: random() < 0.2 ? null : random() < 0.5 ? random() : pick(NUMBERS),
      scores:
        random() < 0.7
          ? null
          : { ok: random(), [pick(STRINGS)]: pick(NUMBERS), '7': random(), 'x"y': Math.fround(random()) },
      source,
      reason,
      explanation: random() < 0.7 ? null : pick(STRINGS),
      error:
        errorKind < 0.6
          ? null
          : errorKind < 0.75
            ? new InputError(
                ErrorCodes.INPUT_FIELD_MISSING,
                `field ${pick(STRINGS)} is missing`,
                pick(STRINGS),
              )
            : errorKind < 0.9
              ? new InputError(ErrorCodes.INPUT_NOT_JSON, 'not JSON')
              : random() < 0.5
                ? new ModelError(ErrorCodes.MODEL_RUN, pick(STRINGS))
                : new InfergateError(ErrorCodes.MODEL_OVERLOAD, 'overloaded'),
      model: canary ? pick(['candidate', 'cand "b"']) : pipeline.modelRef.name,
      modelSha256: canary ? SHA_B.split('').reverse().join('') : pipeline.model.info.sha256,
      latencyMs: random() < 0.9 ? random() * 400 : pick(NUMBERS),
      // Mostly increasing, across second, minute and day boundaries; now and then a jump back or a fraction.
      decidedAt:
        random() < 0.9
          ? start + Math.floor(i * 0.7)
          : random() < 0.5
            ? start - Math.floor(random() * 1e9)
            : start + random() * 5000,
    };
    const eventId = random() < 0.8 ? `evt-${i}` : pick(STRINGS);
    const gatewayId = random() < 0.9 ? gateways[0]! : gateways[1]!;
    const expected = reference(decision, eventId, pipeline, gatewayId);
    const actual = decisionMessage(decision, eventId, pipeline, gatewayId);
    if (actual !== expected) {
      mismatches += 1;
      if (mismatches <= 3) t.equal(actual, expected, `decision ${i}`);
    }
  }
  t.equal(mismatches, 0, 'no mismatches in 20000 decisions');
});

t.test(
  'times: every millisecond of a second, before 1970, and invalid times throw as toISOString does',
  async (t) => {
    const pipeline = pipelineOf('p', 'm', SHA_A, 100);
    const decision = (decidedAt: number): Decision => ({
      decision: 'accept',
      score: 0.5,
      scores: null,
      source: 'model',
      reason: 'ok',
      explanation: null,
      error: null,
      model: 'm',
      modelSha256: SHA_A,
      latencyMs: 1,
      decidedAt,
    });
    const times = [
      ...Array.from({ length: 2100 }, (_, i) => Date.UTC(2024, 1, 29, 23, 59, 59) + i),
      -1,
      -999,
      -1000,
      -1001,
      -1.5,
      0,
      0.9,
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      8.64e15,
    ];
    for (const at of times) {
      const text = decisionMessage(decision(at), 'e', pipeline, 'g');
      if (text !== reference(decision(at), 'e', pipeline, 'g')) t.fail(`time ${at}: ${text}`);
    }
    for (const at of [NaN, Infinity, 8.7e15]) {
      t.throws(() => decisionMessage(decision(at), 'e', pipeline, 'g'), RangeError, `time ${at}`);
    }
  },
);
