import t from 'tap';
import { createJsonDecoder } from '../adapters/decoders/json-decoder.js';
import type { InputMapping } from '../daemon/config.js';
import { ConfigError, ErrorCodes, InputError, ModelError } from '../daemon/errors.js';
import { assertModelWidth, compileInputMapping } from '../daemon/input-mapping.js';
import { thrown } from './helpers/thrown.js';

const inputError = (fn: () => unknown): InputError => thrown(fn, InputError);

const num = (path: string, fallback: number | null = null) =>
  ({ kind: 'number', path, default: fallback }) as const;

/** The atm-risk pipeline of config/default.yaml, as the config loader hands it over. */
const ATM: InputMapping = {
  tensor: null,
  fields: [
    num('amount'),
    { kind: 'oneHot', path: 'currency', values: ['domestic', 'foreign_eea', 'foreign_other'], default: null },
    num('hour'),
    num('weekday'),
    { kind: 'boolean', path: 'cardPresent', default: null },
    num('velocity.count10m'),
    num('velocity.sum10m'),
    num('velocity.count24h'),
    num('velocity.sum24h'),
    num('distanceKm'),
    num('pinTries', 0),
  ],
};

const atmEvent = () => ({
  id: 'tx-1',
  amount: 250.5,
  currency: 'foreign_eea',
  hour: 14,
  weekday: 3,
  cardPresent: true,
  velocity: { count10m: 2, sum10m: 300.5, count24h: 5, sum24h: 820.75 },
  distanceKm: 3.25,
  pinTries: 1,
});

const atm = compileInputMapping(ATM);

t.test('width and feature names', async (t) => {
  t.equal(atm.width, 13, '10 scalar fields + 3 one-hot columns');
  t.strictSame(atm.featureNames, [
    'amount',
    'currency=domestic',
    'currency=foreign_eea',
    'currency=foreign_other',
    'hour',
    'weekday',
    'cardPresent',
    'velocity.count10m',
    'velocity.sum10m',
    'velocity.count24h',
    'velocity.sum24h',
    'distanceKm',
    'pinTries',
  ]);
});

t.test('fill writes the hand-computed row at the offset and nothing else', async (t) => {
  const target = new Float32Array(3 * 13).fill(-7);
  atm.fill(atmEvent(), target, 13);
  t.strictSame([...target.subarray(13, 26)], [250.5, 0, 1, 0, 14, 3, 1, 2, 300.5, 5, 820.75, 3.25, 1]);
  t.ok(
    target.subarray(0, 13).every((v) => v === -7),
    'row before untouched',
  );
  t.ok(
    target.subarray(26).every((v) => v === -7),
    'row after untouched',
  );
});

t.test('defaults apply to absent and null fields only', async (t) => {
  const target = new Float32Array(13);
  const { pinTries: _pinTries, ...withoutPinTries } = atmEvent();
  atm.fill(withoutPinTries, target, 0);
  t.equal(target[12], 0, 'absent pinTries takes its default 0');
  atm.fill({ ...atmEvent(), pinTries: null }, target, 0);
  t.equal(target[12], 0, 'null pinTries takes its default 0');
  atm.fill({ ...atmEvent(), pinTries: 3 }, target, 0);
  t.equal(target[12], 3);

  const mapping = compileInputMapping({
    tensor: null,
    fields: [
      { kind: 'boolean', path: 'a.flag', default: true },
      { kind: 'oneHot', path: 'a.kind', values: ['x', 'y', 'z'], default: 'z' },
      num('a.n', -1.5),
    ],
  });
  const row = new Float32Array(5).fill(9);
  mapping.fill({}, row, 0);
  t.strictSame([...row], [1, 0, 0, 1, -1.5], 'absent parent: every default');
  mapping.fill({ a: { flag: false, kind: 'x', n: 0 } }, row, 0);
  t.strictSame([...row], [0, 1, 0, 0, 0], 'given values, one-hot columns reset');
});

t.test('INPUT_FIELD_MISSING names the dotted path', async (t) => {
  const target = new Float32Array(13);
  const cases: [string, Record<string, unknown>][] = [
    ['amount', { ...atmEvent(), amount: undefined }],
    ['amount', { ...atmEvent(), amount: null }],
    ['currency', { ...atmEvent(), currency: null }],
    ['cardPresent', { ...atmEvent(), cardPresent: undefined }],
    ['velocity.count10m', { ...atmEvent(), velocity: { sum10m: 1, count24h: 1, sum24h: 1 } }],
    ['velocity.count10m', { ...atmEvent(), velocity: null }],
    ['velocity.count10m', { ...atmEvent(), velocity: undefined }],
  ];
  for (const [field, event] of cases) {
    const error = inputError(() => atm.fill(event, target, 0));
    t.equal(error.code, ErrorCodes.INPUT_FIELD_MISSING, field);
    t.equal(error.field, field);
    t.match(error.message, new RegExp(`${field.replace('.', '\\.')} is missing`));
  }
});

t.test('INPUT_FIELD_INVALID: no coercion, names the field, never the value', async (t) => {
  const target = new Float32Array(13);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['amount', { amount: '12' }, /must be a number, got a string/],
    ['amount', { amount: true }, /must be a number, got a boolean/],
    ['amount', { amount: [12] }, /must be a number, got an array/],
    ['amount', { amount: { value: 12 } }, /must be a number, got an object/],
    ['amount', { amount: Number.NaN }, /finite/],
    ['amount', { amount: Number.POSITIVE_INFINITY }, /finite/],
    ['amount', { amount: 1e39 }, /float32/],
    ['amount', { amount: -1e39 }, /float32/],
    ['cardPresent', { cardPresent: 1 }, /must be true or false, got a number/],
    ['cardPresent', { cardPresent: 'true' }, /must be true or false, got a string/],
    ['currency', { currency: 'FOREIGN_EEA' }, /must be one of: domestic, foreign_eea, foreign_other$/],
    ['currency', { currency: 'constructor' }, /must be one of/],
    ['currency', { currency: 1 }, /must be a string, one of: .*got a number/],
    ['velocity.count10m', { velocity: 5 }, /velocity must be an object, got a number/],
    ['velocity.count10m', { velocity: [1, 2] }, /velocity must be an object, got an array/],
    ['velocity.count10m', { velocity: 'fast' }, /velocity must be an object, got a string/],
  ];
  for (const [field, change, message] of cases) {
    const error = inputError(() => atm.fill({ ...atmEvent(), ...change }, target, 0));
    t.equal(error.code, ErrorCodes.INPUT_FIELD_INVALID, `${field}: ${message}`);
    t.equal(error.field, field);
    t.match(error.message, message);
    t.notMatch(error.message, /FOREIGN_EEA|fast/, 'the value is not quoted');
  }
  t.equal(inputError(() => atm.fill({ ...atmEvent(), amount: '12' }, target, 0)).retryable, false);
  const largest = new Float32Array(13);
  atm.fill({ ...atmEvent(), amount: 3.4e38 }, largest, 0);
  t.equal(largest[0], Math.fround(3.4e38), 'the largest float32 values pass');
});

t.test('only own properties are read', async (t) => {
  const mapping = compileInputMapping({ tensor: null, fields: [num('toString'), num('a.valueOf')] });
  const target = new Float32Array(2);
  const error = inputError(() => mapping.fill({ a: {} }, target, 0));
  t.equal(error.code, ErrorCodes.INPUT_FIELD_MISSING, 'Object.prototype.toString is not a field');
  t.equal(error.field, 'toString');

  const inherited = Object.create({ amount: 5 }) as Record<string, unknown>;
  const amountOnly = compileInputMapping({ tensor: null, fields: [num('amount')] });
  t.equal(
    inputError(() => amountOnly.fill(inherited, target, 0)).code,
    ErrorCodes.INPUT_FIELD_MISSING,
    'an inherited property is not a field',
  );
  amountOnly.fill(Object.assign(Object.create(null) as Record<string, unknown>, { amount: 4 }), target, 0);
  t.equal(target[0], 4, 'null-prototype events work');
});

t.test('events from the JSON decoder fill the same row', async (t) => {
  const decode = createJsonDecoder({ limits: { maxPayloadBytes: 65536, maxDepth: 32 } });
  const fromJson = new Float32Array(13);
  const direct = new Float32Array(13);
  atm.fill(decode(Buffer.from(JSON.stringify(atmEvent()))), fromJson, 0);
  atm.fill(atmEvent(), direct, 0);
  t.strictSame([...fromJson], [...direct]);
});

t.test('compile refuses a bad mapping with every problem listed', async (t) => {
  const error = thrown(() =>
    compileInputMapping({
      tensor: null,
      fields: [
        num('a..b'),
        num('c', Number.POSITIVE_INFINITY),
        { kind: 'oneHot', path: 'd', values: ['x', 'x'], default: null },
        { kind: 'oneHot', path: 'e', values: ['x'], default: 'y' },
        { kind: 'oneHot', path: 'f', values: [], default: null },
        num(''),
      ],
    }),
  );
  t.ok(error instanceof ConfigError);
  t.strictSame(
    (error as ConfigError).problems.map((p) => p.path),
    [
      'input.fields[0].path',
      'input.fields[1].default',
      'input.fields[2].values',
      'input.fields[3].default',
      'input.fields[4].values',
      'input.fields[5].path',
    ],
  );
  t.ok(thrown(() => compileInputMapping({ tensor: null, fields: [] })) instanceof ConfigError, 'no fields');
});

t.test('assertModelWidth', async (t) => {
  t.doesNotThrow(() => assertModelWidth(atm, 13, 'atm-risk'));
  const error = thrown(() => assertModelWidth(atm, 12, 'atm-risk'));
  t.ok(error instanceof ModelError);
  t.equal((error as ModelError).code, ErrorCodes.MODEL_SHAPE);
  t.match((error as ModelError).message, /atm-risk.*13.*12/);
});
