import t from 'tap';
import type { DecisionRules } from '../daemon/config.js';
import { compileDecisionRules } from '../daemon/decision-rules.js';
import { ConfigError, ErrorCodes, ModelError, type ErrorCode } from '../daemon/errors.js';
import { thrown } from './helpers/thrown.js';

function modelErrorCode(fn: () => unknown): ErrorCode | string {
  const error = thrown(fn);
  return error instanceof ModelError ? error.code : `not a ModelError: ${String(error)}`;
}

/** The atm-risk rules of config/default.yaml. */
const ATM_BANDS = [
  { min: 0.8, decision: 'reject' },
  { min: 0.4, decision: 'review' },
];
const ATM: DecisionRules = { kind: 'threshold', output: 0, bands: ATM_BANDS, otherwise: 'accept' };

/** The inspection rules of config/default.yaml. */
const LABELS = ['ok', 'dimensional', 'thermal', 'vibration'];
const INSPECTION: DecisionRules = {
  kind: 'argmax',
  labels: LABELS,
  decisions: { ok: 'accept', dimensional: 'reject', thermal: 'reject', vibration: 'reject' },
  minConfidence: 0.6,
  lowConfidence: 'review',
};

const f32 = (...values: number[]) => Float32Array.from(values);

t.test('threshold: bands, boundaries and otherwise', async (t) => {
  const atm = compileDecisionRules(ATM, 1, null);
  t.equal(atm.kind, 'threshold');
  const cases: [number, string, number][] = [
    [1, 'reject', 1],
    [0.95, 'reject', 0.95],
    [0.8, 'reject', 0.8], // exactly at the band's min
    [0.7999994, 'review', 0.799999],
    [0.5, 'review', 0.5],
    [0.4, 'review', 0.4], // exactly at the band's min
    [0.39999, 'accept', 0.39999],
    [0, 'accept', 0],
    [-0.25, 'accept', -0.25],
  ];
  for (const [output, decision, score] of cases) {
    t.strictSame(atm.decide(f32(output), 0), { decision, score, scores: null }, `score ${output}`);
  }
});

t.test('threshold: scores are compared as published, rounded to 6 decimals', async (t) => {
  const rules: DecisionRules = { ...ATM, bands: [{ min: 0.7, decision: 'reject' }] };
  const decide = compileDecisionRules(rules, 1, null).decide;
  t.ok(Math.fround(0.7) < 0.7, 'float32 0.7 is below the double 0.7');
  t.strictSame(decide(f32(0.7), 0), { decision: 'reject', score: 0.7, scores: null }, 'still reaches 0.7');
  t.equal(decide(f32(0.7999996), 0).score, 0.8, 'published score');
  t.equal(compileDecisionRules(ATM, 1, null).decide(f32(0.7999996), 0).decision, 'reject', 'agrees with it');
  t.equal(decide(f32(0.123456789), 0).score, 0.123457);
});

t.test('threshold: output index and offset select the score', async (t) => {
  const decide = compileDecisionRules({ ...ATM, output: 1 }, 2, null).decide;
  const batch = f32(0.1, 0.9, 0.95, 0.3);
  t.equal(decide(batch, 0).decision, 'reject', 'row 0 reads outputs[1]');
  t.equal(decide(batch, 2).decision, 'accept', 'row 1 reads outputs[3]');
});

t.test('threshold: bands are tried highest first whatever their order', async (t) => {
  const rules: DecisionRules = { ...ATM, bands: [...ATM_BANDS].reverse() };
  const decide = compileDecisionRules(rules, 1, null).decide;
  t.equal(decide(f32(0.9), 0).decision, 'reject');
  t.equal(decide(f32(0.5), 0).decision, 'review');
  t.equal(compileDecisionRules({ ...ATM, bands: [] }, 1, null).decide(f32(0.99), 0).decision, 'accept');
});

t.test('threshold: a score that is not a number is a model error', async (t) => {
  const decide = compileDecisionRules(ATM, 1, null).decide;
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    t.equal(
      modelErrorCode(() => decide(f32(value), 0)),
      ErrorCodes.MODEL_RUN,
      String(value),
    );
  }
  t.equal(
    modelErrorCode(() => decide(f32(0.5), 1)),
    ErrorCodes.MODEL_RUN,
    'offset past the outputs',
  );
});

t.test('threshold: shape problems stop the pipeline at start', async (t) => {
  t.equal(
    modelErrorCode(() => compileDecisionRules({ ...ATM, output: 1 }, 1, null)),
    ErrorCodes.MODEL_SHAPE,
  );
  t.equal(
    modelErrorCode(() => compileDecisionRules({ ...ATM, output: -1 }, 1, null)),
    ErrorCodes.MODEL_SHAPE,
  );
  t.equal(
    modelErrorCode(() => compileDecisionRules(ATM, 0, null)),
    ErrorCodes.MODEL_SHAPE,
  );
  t.match(
    (thrown(() => compileDecisionRules({ ...ATM, output: 3 }, 2, null)) as Error).message,
    /3.*2 outputs/,
  );
  const nan: DecisionRules = { ...ATM, bands: [{ min: Number.NaN, decision: 'x' }] };
  t.ok(thrown(() => compileDecisionRules(nan, 1, null)) instanceof ConfigError, 'NaN band min');
});

t.test('argmax: top label, its decision and rounded scores', async (t) => {
  const inspection = compileDecisionRules(INSPECTION, 4, null);
  t.equal(inspection.kind, 'argmax');
  t.strictSame(inspection.labels, LABELS);
  const ok = inspection.decide(f32(0.7, 0.1, 0.15, 0.05), 0);
  t.strictSame(ok, {
    decision: 'accept',
    score: 0.7,
    scores: { ok: 0.7, dimensional: 0.1, thermal: 0.15, vibration: 0.05 },
  });
  t.strictSame(Object.keys(ok.scores ?? {}), LABELS, 'scores in output order');
  t.strictSame(inspection.decide(f32(0.1, 0.05, 0.8, 0.05), 0), {
    decision: 'reject',
    score: 0.8,
    scores: { ok: 0.1, dimensional: 0.05, thermal: 0.8, vibration: 0.05 },
  });
  t.equal(inspection.decide(f32(0.1234567, 0, 0.8765433, 0), 0).scores?.ok, 0.123457);
});

t.test('argmax: minConfidence boundary', async (t) => {
  const decide = compileDecisionRules(INSPECTION, 4, null).decide;
  t.strictSame(decide(f32(0.6, 0.2, 0.1, 0.1), 0).decision, 'accept', 'exactly minConfidence is confident');
  t.strictSame(decide(f32(0.5999994, 0.2, 0.1, 0.1), 0).decision, 'review', '0.599999 is not');
  const low = decide(f32(0.5, 0.3, 0.1, 0.1), 0);
  t.strictSame(low, {
    decision: 'review',
    score: 0.5,
    scores: { ok: 0.5, dimensional: 0.3, thermal: 0.1, vibration: 0.1 },
  });
  const zero = compileDecisionRules({ ...INSPECTION, minConfidence: 0 }, 4, null).decide;
  t.equal(zero(f32(0.25, 0.25, 0.25, 0.25), 0).decision, 'accept', 'a tie goes to the first label');
});

t.test('argmax: labels from the model card; a label without a decision decides as itself', async (t) => {
  const rules: DecisionRules = { ...INSPECTION, labels: null, decisions: { ok: 'accept' }, minConfidence: 0 };
  const compiled = compileDecisionRules(rules, 4, LABELS);
  t.strictSame(compiled.labels, LABELS);
  t.equal(compiled.decide(f32(0, 0, 0.9, 0.1), 0).decision, 'thermal');
  t.equal(compiled.decide(f32(0.9, 0, 0, 0.1), 0).decision, 'accept');

  const odd = compileDecisionRules(
    { ...INSPECTION, labels: ['constructor', 'toString'], decisions: {}, minConfidence: 0 },
    2,
    null,
  );
  const result = odd.decide(f32(0.9, 0.1), 0);
  t.equal(result.decision, 'constructor', 'not Object.prototype.constructor');
  t.strictSame(Object.keys(result.scores ?? {}), ['constructor', 'toString']);
});

t.test('argmax: row offset', async (t) => {
  const decide = compileDecisionRules(INSPECTION, 4, null).decide;
  const batch = f32(0.9, 0.1, 0, 0, 0, 0.1, 0, 0.9);
  t.equal(decide(batch, 0).decision, 'accept');
  t.equal(decide(batch, 4).decision, 'reject');
  t.equal(decide(batch, 4).scores?.vibration, 0.9);
});

t.test('argmax: outputs that are not probabilities are a model error', async (t) => {
  const decide = compileDecisionRules(INSPECTION, 4, null).decide;
  for (const row of [
    f32(Number.NaN, 0, 0, 0),
    f32(0.5, Number.NaN, 0.2, 0.3),
    f32(2.3, -1.1, 0.4, 0), // logits
    f32(0.5, -0.01, 0.3, 0.21),
    f32(Number.POSITIVE_INFINITY, 0, 0, 0),
  ]) {
    t.equal(
      modelErrorCode(() => decide(row, 0)),
      ErrorCodes.MODEL_RUN,
      String([...row]),
    );
  }
  t.equal(
    modelErrorCode(() => decide(f32(0.9, 0.1, 0, 0), 2)),
    ErrorCodes.MODEL_RUN,
    'row past the outputs',
  );
});

t.test('argmax: label problems stop the pipeline at start', async (t) => {
  const cases: [string, DecisionRules, number, string[] | null, RegExp][] = [
    ['no labels anywhere', { ...INSPECTION, labels: null }, 4, null, /no labels/],
    ['config labels ≠ width', INSPECTION, 5, null, /4 labels.*5 outputs/],
    ['model labels ≠ width', { ...INSPECTION, labels: null }, 4, ['a', 'b'], /model card lists 2 labels/],
    ['duplicate label', { ...INSPECTION, labels: ['ok', 'ok'], decisions: {} }, 2, null, /twice/],
    ['__proto__ label', { ...INSPECTION, labels: ['__proto__', 'ok'], decisions: {} }, 2, null, /__proto__/],
    ['decision for no label', { ...INSPECTION, labels: null }, 3, ['ok', 'thermal', 'x'], /"dimensional"/],
  ];
  for (const [what, rules, width, modelLabels, message] of cases) {
    const error = thrown(() => compileDecisionRules(rules, width, modelLabels));
    t.ok(error instanceof ModelError, what);
    t.equal((error as ModelError).code, ErrorCodes.MODEL_SHAPE, what);
    t.match((error as ModelError).message, message, what);
  }
  t.ok(
    thrown(() => compileDecisionRules({ ...INSPECTION, minConfidence: 1.5 }, 4, null)) instanceof ConfigError,
    'minConfidence above 1',
  );
});
