import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { float16Bits, feedValues } from '../adapters/onnx/input-feeds.js';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { onnxRunLayout } from '../adapters/onnx/run-layout.js';
import { ErrorCodes, ModelError } from '../daemon/errors.js';
import type { ModelRunner, TensorInfo } from '../daemon/ports.js';
import { modelConfig, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { castModel, sequenceModel, twoInputModel, writeModel } from './helpers/tensor-models.js';
import { thrown } from './helpers/thrown.js';
import type { onnx } from '../tools/onnx-format/onnx.js';

async function loaded(t: Test, name: string, proto: onnx.IModelProto, maxBatch = 32): Promise<ModelRunner> {
  const file = path.join(tempDir(t), `${name}.onnx`);
  await writeModel(file, proto);
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file, maxBatch }) });
  t.teardown(() => model.dispose());
  await model.load();
  return model;
}

const info = (name: string, type: string, shape: (number | string)[]): TensorInfo => ({ name, type, shape });
const scores = [info('scores', 'float32', ['batch', 2])];

t.test('run layout: image, sequence and multi-input shapes; refusals', async (t) => {
  const image = onnxRunLayout('m', [info('image', 'float32', ['N', 3, 8, 8])], scores);
  t.equal(image.inputWidth, 192);
  t.ok(image.batched);
  t.strictSame(image.rowDims, [3, 8, 8]);
  const fixed = onnxRunLayout('m', [info('image', 'uint8', [1, 1, 4, 4])], scores);
  t.notOk(fixed.batched, 'a fixed batch of 1 runs one row per call');
  t.strictSame(fixed.inputs[0]!.rowDims, [1, 1, 4, 4]);
  t.equal(fixed.inputWidth, 16);
  const two = onnxRunLayout(
    'm',
    [info('image', 'float16', ['batch', 1, 4, 4]), info('meta', 'int8', ['batch', 3])],
    scores,
  );
  t.strictSame(two.rowTensors, [
    { name: 'image', width: 16 },
    { name: 'meta', width: 3 },
  ]);
  t.equal(two.inputWidth, 19);
  t.strictSame(
    two.inputs.map((feed) => feed.type),
    ['float16', 'int8'],
  );

  const refused = (inputs: TensorInfo[], outputs = scores): string =>
    thrown(() => onnxRunLayout('m', inputs, outputs), ModelError).message;
  t.match(
    refused([info('x', 'int64', ['batch', 4])]),
    /input x is int64 \[batch, 4\]; infergate feeds float32, float16, uint8, int8/,
  );
  t.match(refused([info('x', 'float32', ['batch', 'T', 4])]), /fixed dimensions after the batch/);
  t.match(refused([info('x', 'float32', [2, 4])]), /a fixed batch dimension must be 1/);
  t.match(refused([info('x', 'float32', [])]), /fixed dimensions/);
  t.match(
    refused([info('a', 'float32', ['batch', 4]), info('b', 'float32', [1, 4])]),
    /mix a dynamic and a fixed batch dimension/,
  );
  t.match(
    refused([info('x', 'float32', ['batch', 4])], [info('y', 'float32', ['batch', 2, 2])]),
    /need \[batch, K\]/,
  );
});

t.test('float16 conversion: nearest, ties to even, subnormals, saturation', async (t) => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7bff],
    [1e6, 0x7bff],
    [-1e6, 0xfbff],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -24, 0x0002],
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [1 / 3, 0x3555],
    [0.1, 0x2e66],
  ];
  for (const [value, bits] of cases) t.equal(float16Bits(value), bits, `${value}`);
});

t.test(
  'feedValues: a row split per input, ints rounded and clamped, float32 single input uncopied',
  async (t) => {
    const rows = Float32Array.of(1, 2, 2.5, -2.5, 300, 3, 4, 127.4, -200, -0.4);
    t.equal(
      feedValues(rows, 2, 5, 0, { name: 'a', type: 'float32', rowDims: [5], width: 5 }),
      rows,
      'no copy',
    );
    t.strictSame(
      [...feedValues(rows, 2, 5, 0, { name: 'a', type: 'float32', rowDims: [2], width: 2 })],
      [1, 2, 3, 4],
    );
    t.strictSame(
      [...feedValues(rows, 2, 5, 2, { name: 'b', type: 'uint8', rowDims: [3], width: 3 })],
      [3, 0, 255, 127, 0, 0],
    );
    t.strictSame(
      [...feedValues(rows, 2, 5, 2, { name: 'b', type: 'int8', rowDims: [3], width: 3 })],
      [3, -3, 127, 127, -128, 0],
    );
  },
);

t.test('a two-input model: each tensor gets its part of the row, batched', async (t) => {
  const model = await loaded(t, 'two-inputs', twoInputModel());
  t.equal(model.info.inputWidth, 19);
  t.strictSame(model.info.inputTensors, [
    { name: 'image', width: 16 },
    { name: 'meta', width: 3 },
  ]);
  const rows = new Float32Array(38);
  for (let i = 0; i < 16; i++) rows[i] = 1;
  rows.set([1, 2, 3], 16);
  rows[19 + 15] = 2;
  rows.set([0.5, 0, 0], 35);
  const result = await model.run(rows, 2);
  t.equal(result.outputs.length, 4);
  t.ok(Math.abs(result.outputs[0]! - 1.36) < 1e-5, 'Σ (i+1)/100 over 16 ones');
  t.ok(Math.abs(result.outputs[1]! - 321) < 1e-4, 'meta in order');
  t.ok(Math.abs(result.outputs[2]! - 0.32) < 1e-5, 'row 2: image[15] = 2');
  t.ok(Math.abs(result.outputs[3]! - 0.5) < 1e-6, 'row 2: meta');
});

t.test('uint8, int8 and float16 inputs are fed in their own type', async (t) => {
  const values = Float32Array.of(1.4, 300, -5, 2.5, 1 / 3, 0.1);
  const expected = {
    uint8: [1, 255, 0, 3, 0, 0],
    int8: [1, 127, -5, 3, 0, 0],
    float16: [1.400390625, 300, -5, 2.5, 0.333251953125, 0.0999755859375],
  };
  for (const type of ['uint8', 'int8', 'float16'] as const) {
    const model = await loaded(t, `cast-${type}`, castModel(type, 3));
    t.equal(model.info.inputs[0]!.type, type);
    const result = await model.run(values.slice(), 2);
    t.strictSame([...result.outputs], expected[type], `${type}: converted as documented`);
    const single = await loaded(t, `cast-${type}-fixed`, castModel(type, 6, 1));
    t.strictSame([...(await single.run(values.slice(), 1)).outputs], expected[type], `${type}: [1, N] model`);
  }
});

t.test('a [batch, T, F] model loads and runs', async (t) => {
  const model = await loaded(t, 'sequence', sequenceModel(4, 3));
  t.equal(model.info.inputWidth, 12);
  const rows = Float32Array.from({ length: 24 }, (_, i) => i);
  const result = await model.run(rows, 2);
  t.strictSame([...result.outputs], [66, 210]);
});

t.test('a model card may name the input tensors instead of every value', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'carded.onnx');
  await writeModel(file, twoInputModel());
  writeFileSync(
    path.join(dir, 'carded.json'),
    JSON.stringify({ inputs: [{ name: 'image' }, { name: 'meta' }] }),
  );
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  t.teardown(() => model.dispose());
  await model.load();
  t.equal(model.info.inputWidth, 19);

  writeFileSync(path.join(dir, 'carded.json'), JSON.stringify({ inputs: ['meta', 'image'] }));
  const wrong = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  t.teardown(() => wrong.dispose());
  await t.rejects(wrong.load(), { code: ErrorCodes.MODEL_SHAPE }, 'names in another order are no match');
});
