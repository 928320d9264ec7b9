import t from 'tap';
import { createJsonDecoder } from '../adapters/decoders/json-decoder.js';
import type { InputField, InputMapping } from '../daemon/config.js';
import { ErrorCodes, InputError, ModelError } from '../daemon/errors.js';
import { compileInputMapping } from '../daemon/input-mapping.js';
import { compileInputRow } from '../daemon/input-mapping-row.js';
import { thrown } from './helpers/thrown.js';

const inputError = (fn: () => unknown): InputError => thrown(fn, InputError);
const tensor = (path: string, shape: number[]): InputField => ({ kind: 'tensor', path, shape });
const num = (path: string, fallback: number | null = null): InputField => ({
  kind: 'number',
  path,
  default: fallback,
});
const mapping = (...fields: InputField[]): InputMapping => ({ tensor: null, fields });
const json = createJsonDecoder({ limits: { maxPayloadBytes: 1 << 20, maxDepth: 8 } });
const decode = (value: unknown) => json(Buffer.from(JSON.stringify(value)));

t.test('a 1-D tensor field takes a numeric array of exactly its length', async (t) => {
  const compiled = compileInputMapping(mapping(num('rpm'), tensor('features', [4])));
  t.equal(compiled.width, 5);
  t.strictSame(compiled.featureNames, ['rpm', 'features[0]', 'features[1]', 'features[2]', 'features[3]']);
  const row = new Float32Array(7).fill(-9);
  compiled.fill(decode({ rpm: 1500, features: [0.5, -1, 2, 3.25] }), row, 1);
  t.strictSame([...row], [-9, 1500, 0.5, -1, 2, 3.25, -9], 'written at the offset, nothing else');
});

t.test('nested arrays fill row-major', async (t) => {
  const compiled = compileInputMapping(mapping(tensor('window', [2, 3, 2])));
  t.equal(compiled.width, 12);
  const row = new Float32Array(12);
  const window = [
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    [
      [7, 8],
      [9, 10],
      [11, 12],
    ],
  ];
  compiled.fill(decode({ window }), row, 0);
  t.strictSame([...row], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

t.test('typed arrays from a binary decoder: exactly product(shape) values', async (t) => {
  const compiled = compileInputMapping(mapping(tensor('payload', [2, 2])));
  const row = new Float32Array(4);
  compiled.fill({ payload: Float32Array.of(1, 2, 3, 4) }, row, 0);
  t.strictSame([...row], [1, 2, 3, 4]);
  compiled.fill({ payload: Int16Array.of(-32768, 0, 7, 32767) }, row, 0);
  t.strictSame([...row], [-32768, 0, 7, 32767]);
  compiled.fill({ payload: Uint8Array.of(0, 1, 254, 255) }, row, 0);
  t.strictSame([...row], [0, 1, 254, 255]);

  const short = inputError(() => compiled.fill({ payload: new Float32Array(3) }, row, 0));
  t.equal(short.code, ErrorCodes.INPUT_FIELD_INVALID);
  t.equal(short.field, 'payload');
  t.match(short.message, /must hold 4 values \(shape \[2, 2\]\), got 3/);
  const nan = inputError(() => compiled.fill({ payload: Float32Array.of(1, 2, NaN, 4) }, row, 0));
  t.match(nan.message, /payload index \[2\] must be a finite number/);
  const big = inputError(() => compiled.fill({ payload: Float64Array.of(1, 2, 3, 1e300) }, row, 0));
  t.match(big.message, /index \[3\] must be a finite number within float32 range/);
  const bigints = inputError(() => compiled.fill({ payload: new BigInt64Array(4) }, row, 0));
  t.match(bigints.message, /must hold numbers/);
});

t.test('errors name the field and the index, never the value', async (t) => {
  const compiled = compileInputMapping(mapping(tensor('spectrum', [2, 3])));
  const row = new Float32Array(6);
  const cases: [unknown, RegExp][] = [
    [[[1, 2, 3]], /got 1 values where 2 belong/],
    [
      [
        [1, 2, 3],
        [4, 5],
      ],
      /got 2 values at index \[1\] where 3 belong/,
    ],
    [
      [
        [1, 2, 3],
        [4, 'secret-17', 6],
      ],
      /index \[1\]\[1\] must be a number, got a string/,
    ],
    [
      [
        [1, 2, 3],
        [4, null, 6],
      ],
      /index \[1\]\[1\] must be a number, got null/,
    ],
    [[1, 2], /index \[0\] must be an array of 3 values \(ragged or flat nesting\), got a number/],
    [
      [
        [1, 2, [3]],
        [4, 5, 6],
      ],
      /index \[0\]\[2\] must be a number, got an array/,
    ],
    [[1, 2, 3, 4, 5, 6], /got 6 values where 2 belong/],
    ['1,2,3', /must be an array of shape \[2, 3\], got a string/],
    [{ 0: [1, 2, 3] }, /must be an array of shape \[2, 3\], got an object/],
  ];
  for (const [spectrum, message] of cases) {
    const error = inputError(() => compiled.fill(decode({ spectrum }), row, 0));
    t.equal(error.code, ErrorCodes.INPUT_FIELD_INVALID);
    t.equal(error.field, 'spectrum', `field named for ${message}`);
    t.match(error.message, message);
    t.notMatch(error.message, /secret-17/, 'no value in the message');
  }
  const missing = inputError(() => compiled.fill(decode({ other: 1 }), row, 0));
  t.equal(missing.code, ErrorCodes.INPUT_FIELD_MISSING, 'a tensor has no default');
  t.equal(missing.field, 'spectrum');
  const huge = inputError(() =>
    compiled.fill(
      {
        spectrum: [
          [1, 2, 3e39],
          [4, 5, 6],
        ],
      },
      row,
      0,
    ),
  );
  t.match(huge.message, /index \[0\]\[2\] must be a finite number within float32 range/);
});

t.test('index segments step into arrays and typed arrays', async (t) => {
  const compiled = compileInputMapping(
    mapping(num('features.0'), num('features.3'), num('axes.1.rms'), num('payload.2'), num('spare.9', -1)),
  );
  const row = new Float32Array(5);
  compiled.fill(
    {
      ...decode({ features: [0.1, 0.2, 0.3, 0.4], axes: [{ rms: 1 }, { rms: 2.5 }], spare: [1] }),
      payload: Float32Array.of(7, 8, 9),
    },
    row,
    0,
  );
  t.strictSame([...row], [Math.fround(0.1), Math.fround(0.4), 2.5, 9, -1], 'an index past the end is absent');
  const past = inputError(() => compiled.fill(decode({ features: [1], axes: [], spare: [] }), row, 0));
  t.equal(past.code, ErrorCodes.INPUT_FIELD_MISSING);
  t.equal(past.field, 'features.3');
  const named = compileInputMapping(mapping(num('features.x')));
  t.match(
    inputError(() => named.fill(decode({ features: [1, 2] }), row, 0)).message,
    /features must be an object, got an array/,
    'a name into an array is still refused',
  );
  const leading = compileInputMapping(mapping(num('features.01')));
  t.equal(
    inputError(() => leading.fill(decode({ features: [1, 2] }), row, 0)).code,
    ErrorCodes.INPUT_FIELD_INVALID,
    '01 is no index',
  );
  compileInputMapping(mapping(num('bins.3'))).fill(decode({ bins: { 3: 42 } }), row, 0);
  t.equal(row[0], 42, 'an index segment still reads an object key');
});

t.test('one mapping per model input tensor, at its offset in the row', async (t) => {
  const info = {
    name: 'two-inputs',
    inputs: [],
    inputWidth: 7,
    inputTensors: [
      { name: 'image', width: 4 },
      { name: 'meta', width: 3 },
    ],
  };
  const input: InputMapping = {
    tensor: null,
    fields: [],
    // Written in another order than the model's: the row follows the model.
    tensors: [
      { tensor: 'meta', fields: [num('temperature'), num('speed'), num('load', 0.5)] },
      { tensor: 'image', fields: [tensor('image', [2, 2])] },
    ],
  };
  const row = compileInputRow(input, info, 'p');
  t.equal(row.width, 7);
  const target = new Float32Array(7);
  row.fill(
    decode({
      image: [
        [1, 2],
        [3, 4],
      ],
      temperature: 40,
      speed: 2,
    }),
    target,
    0,
  );
  t.strictSame([...target], [1, 2, 3, 4, 40, 2, 0.5]);

  const shape = (fn: () => unknown): ModelError => thrown(fn, ModelError);
  t.match(
    shape(() => compileInputRow(mapping(num('a')), info, 'p')).message,
    /takes 2 input tensors \(image, meta\); map each under input.tensors/,
  );
  t.match(
    shape(() => compileInputRow({ tensor: null, fields: [], tensors: [input.tensors![1]!] }, info, 'p'))
      .message,
    /no mapping for input meta/,
  );
  t.match(
    shape(() =>
      compileInputRow(
        { tensor: null, fields: [], tensors: [...input.tensors!, { tensor: 'extra', fields: [num('x')] }] },
        info,
        'p',
      ),
    ).message,
    /maps extra, which is no input/,
  );
  t.match(
    shape(() =>
      compileInputRow(
        {
          tensor: null,
          fields: [],
          tensors: [input.tensors![0]!, { tensor: 'image', fields: [tensor('image', [3])] }],
        },
        info,
        'p',
      ),
    ).message,
    /pipeline p \(tensor image\): input mapping yields 3 values per row, but the model takes 4/,
  );
  const single = {
    name: 'one',
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', 2] }],
    inputWidth: 2,
  };
  t.equal(compileInputRow({ tensor: 'features', fields: [num('a'), num('b')] }, single, 'p').width, 2);
  t.match(
    shape(() => compileInputRow({ tensor: 'pixels', fields: [num('a'), num('b')] }, single, 'p')).message,
    /input.tensor names pixels, but the input of model one is features/,
  );
});
