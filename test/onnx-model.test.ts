import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { ErrorCodes, isInfergateError } from '../daemon/errors.js';
import type { ModelRunner } from '../daemon/ports.js';
import { mlpForward } from '../tools/train/mlp-model.js';
import { floatTensorValue, int64Tensor, node, opset } from '../tools/onnx-format/onnx-builders.js';
import { onnx } from '../tools/onnx-format/onnx.js';
import { ATM_RISK, INSPECTION, type SampleModelSpec } from '../tools/dev/sample-model-specs.js';
import { buildSampleModel } from '../tools/dev/sample-models.js';
import { writeTinyModel } from './helpers/test-models.js';
import { mulberry32 } from '../tools/train/mulberry32.js';
import { modelConfig, modelsDir, silentLogger, tempDir } from './helpers/onnx-fixtures.js';

async function loaded(
  t: Test,
  file: string,
  overrides: { workers?: number; maxBatch?: number } = {},
): Promise<ModelRunner> {
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file, ...overrides }) });
  t.teardown(() => model.dispose());
  await model.load();
  return model;
}

/** Plausible rows: each feature within ±2 std of its mean, one-hot and boolean inputs kept 0/1. */
function plausibleRows(spec: SampleModelSpec, rows: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(rows * spec.features.length);
  spec.features.forEach((feature, i) => {
    for (let r = 0; r < rows; r++) {
      const binary = feature.unit === 'one-hot' || feature.unit.startsWith('boolean');
      const value = binary
        ? random() < feature.mean
          ? 1
          : 0
        : feature.mean + feature.std * (random() * 4 - 2);
      out[r * spec.features.length + i] = Math.max(0, value);
    }
  });
  return out;
}

const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function codeOf(error: unknown): string | undefined {
  return isInfergateError(error) ? error.code : undefined;
}

t.test('atm-risk: info, outputs in [0, 1], same as the JavaScript reference', async (t) => {
  const file = path.join(modelsDir, 'atm-risk.onnx');
  const model = await loaded(t, file, { workers: 2 });
  const info = model.info;
  t.equal(model.concurrency, 2);
  t.equal(info.name, 'atm-risk');
  t.match(info.runtime, /^onnxruntime-node \d+\.\d+\.\d+$/);
  t.equal(info.sha256, sha256Of(file));
  t.same(info.inputs, [{ name: 'features', type: 'float32', shape: ['batch', 13] }]);
  t.same(info.outputs, [{ name: 'score', type: 'float32', shape: ['batch', 1] }]);
  t.equal(info.inputWidth, 13);
  t.equal(info.outputWidth, 1);
  t.equal(info.labels, null);
  t.ok(info.warmupP50Ms > 0 && info.warmupP95Ms >= info.warmupP50Ms, 'warm-up percentiles');
  t.ok(info.warmupP95Ms < 100, `warm-up p95 ${info.warmupP95Ms} ms is small for a tiny MLP`);

  const rows = 16;
  const input = plausibleRows(ATM_RISK, rows, 1);
  const expected = mlpForward(buildSampleModel(ATM_RISK).reference, input, rows);
  const result = await model.run(input, rows);
  t.equal(result.outputs.length, rows);
  t.ok(result.inferenceMs >= 0);
  for (let r = 0; r < rows; r++) {
    const score = result.outputs[r]!;
    t.ok(score >= 0 && score <= 1, `row ${r} score ${score} in [0, 1]`);
    t.ok(Math.abs(score - expected[r]!) < 1e-5, `row ${r}: ${score} matches reference ${expected[r]}`);
  }
});

t.test('atm-risk: the demo score rises with amount, distance and PIN tries', async (t) => {
  const model = await loaded(t, path.join(modelsDir, 'atm-risk.onnx'));
  const names = ATM_RISK.features.map((f) => f.name);
  const typical = [60, 1, 0, 0, 14, 2, 1, 0, 0, 2, 120, 3, 1];
  const sweep = async (feature: string, values: number[]): Promise<number[]> => {
    const input = new Float32Array(
      values.flatMap((v) => typical.map((x, i) => (names[i] === feature ? v : x))),
    );
    return Array.from((await model.run(input, values.length)).outputs);
  };
  const [base] = await sweep('amount', [60]);
  t.ok(base! > 0.01 && base! < 0.2, `typical transaction scores ${base}, not saturated`);
  for (const [feature, values] of [
    ['amount', [0, 100, 500, 2000, 5000]],
    ['distanceKm', [0, 100, 1000, 3000]],
    ['pinTries', [0, 1, 2, 3, 4]],
  ] as const) {
    const scores = await sweep(feature, [...values]);
    for (let i = 1; i < scores.length; i++) {
      t.ok(scores[i]! >= scores[i - 1]!, `${feature} ${values[i]}: ${scores[i]} >= ${scores[i - 1]}`);
    }
    t.ok(scores[scores.length - 1]! > scores[0]! + 0.1, `${feature} moves the score`);
  }
});

t.test('inspection: softmax rows sum to 1, labels from the model card, nominal part is ok', async (t) => {
  const model = await loaded(t, path.join(modelsDir, 'inspection.onnx'));
  t.same(model.info.labels, ['ok', 'dimensional', 'thermal', 'vibration']);
  t.equal(model.info.inputWidth, 16);
  t.equal(model.info.outputWidth, 4);
  t.same(model.info.outputs, [{ name: 'probabilities', type: 'float32', shape: ['batch', 4] }]);

  const rows = 12;
  const input = plausibleRows(INSPECTION, rows, 2);
  const expected = mlpForward(buildSampleModel(INSPECTION).reference, input, rows);
  const { outputs } = await model.run(input, rows);
  for (let r = 0; r < rows; r++) {
    const row = outputs.subarray(r * 4, r * 4 + 4);
    t.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${r} sums to 1`);
    t.ok(
      row.every((p, k) => p >= 0 && p <= 1 && Math.abs(p - expected[r * 4 + k]!) < 1e-5),
      `row ${r} in [0, 1] and matches the reference`,
    );
  }

  const nominal = INSPECTION.features.map((f) => f.mean);
  const hot = nominal.map((v, i) => (INSPECTION.features[i]!.name === 'thermal.temperatureC' ? 70 : v));
  const both = await model.run(new Float32Array([...nominal, ...hot]), 2);
  const argmax = (row: Float32Array): number => row.indexOf(Math.max(...row));
  t.equal(argmax(both.outputs.subarray(0, 4)), 0, 'nominal part → ok');
  t.ok(
    both.outputs[0]! > 0.6 && both.outputs[0]! < 0.99,
    `nominal ok probability ${both.outputs[0]} not saturated`,
  );
  t.equal(argmax(both.outputs.subarray(4, 8)), 2, 'hot part → thermal');
});

t.test('a batch of 8 equals 8 single-row runs', async (t) => {
  for (const spec of [ATM_RISK, INSPECTION]) {
    const model = await loaded(t, path.join(modelsDir, `${spec.name}.onnx`), { workers: 2 });
    const width = spec.features.length;
    const input = plausibleRows(spec, 8, 3);
    const batch = await model.run(input.slice(), 8);
    const singles = await Promise.all(
      Array.from({ length: 8 }, (_, r) => model.run(input.slice(r * width, (r + 1) * width), 1)),
    );
    const joined = singles.flatMap((s) => Array.from(s.outputs));
    t.equal(joined.length, batch.outputs.length);
    t.ok(
      joined.every((v, i) => Math.abs(v - batch.outputs[i]!) < 1e-6),
      `${spec.name}: batch and single runs agree`,
    );
  }
});

t.test('run() input checks and state', async (t) => {
  const file = path.join(modelsDir, 'atm-risk.onnx');
  const fresh = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file, maxBatch: 4 }) });
  t.teardown(() => fresh.dispose());
  t.throws(() => fresh.info, { code: ErrorCodes.MODEL_LOAD }, 'info before load');
  await t.rejects(fresh.run(new Float32Array(13), 1), { code: ErrorCodes.MODEL_RUN }, 'run before load');
  await fresh.load();
  t.equal(fresh.load(), fresh.load(), 'load() is idempotent');
  await t.rejects(fresh.run(new Float32Array(12), 1), { code: ErrorCodes.MODEL_RUN }, 'wrong length');
  await t.rejects(fresh.run(new Float32Array(13 * 5), 5), { code: ErrorCodes.MODEL_RUN }, 'over maxBatch');
  await t.rejects(fresh.run(new Float32Array(0), 0), { code: ErrorCodes.MODEL_RUN }, 'zero rows');

  // A view into a larger buffer is copied, not transferred: the caller's other data stays intact.
  const shared = new Float32Array(13 * 3).fill(1);
  const view = shared.subarray(13, 26);
  const viaView = await fresh.run(view, 1);
  t.equal(shared.length, 39, 'the surrounding buffer was not detached');
  const copy = await fresh.run(new Float32Array(13).fill(1), 1);
  t.equal(viaView.outputs[0], copy.outputs[0]);
});

t.test('the factory validates the config slice and does no I/O', async (t) => {
  const good = modelConfig({ path: '/nonexistent/model.onnx' });
  t.doesNotThrow(
    () => createOnnxModel({ logger: silentLogger, model: good }),
    'a missing file is load()’s business',
  );
  const bad = { ...good, path: 'relative.onnx', workers: 0, threads: 1.5, sha256: 'abc' };
  try {
    createOnnxModel({ logger: silentLogger, model: bad });
    t.fail('expected a ConfigError');
  } catch (error) {
    t.equal(codeOf(error), ErrorCodes.CONFIG_INVALID);
    const paths = (error as { problems: { path: string }[] }).problems.map((p) => p.path).sort();
    t.same(paths, [
      'models.model.path',
      'models.model.sha256',
      'models.model.threads',
      'models.model.workers',
    ]);
  }
});

t.test('model shapes: [N] runs per row, [batch, 2, N] is refused, label count must match', async (t) => {
  const dir = tempDir(t);
  const flat = path.join(dir, 'flat.onnx');
  await writeTinyModel(flat, { inputs: 5, outputs: 2, leadingDims: [] });
  const flatModel = await loaded(t, flat, {});
  t.same(flatModel.info.inputs[0]!.shape, [5]);
  const three = await flatModel.run(new Float32Array([1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 5, 4, 3, 2, 1]), 3);
  const first = await flatModel.run(new Float32Array([1, 2, 3, 4, 5]), 1);
  t.equal(three.outputs.length, 6);
  t.same(Array.from(three.outputs.subarray(0, 2)), Array.from(first.outputs));

  const cube = path.join(dir, 'cube.onnx');
  await writeTinyModel(cube, { inputs: 4, outputs: 2, leadingDims: ['batch', 2] });
  const cubeModel = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: cube }) });
  await t.rejects(cubeModel.load(), { code: ErrorCodes.MODEL_SHAPE });

  const labelled = path.join(dir, 'labelled.onnx');
  await writeTinyModel(labelled, { inputs: 4, outputs: 3 });
  writeFileSync(path.join(dir, 'labelled.json'), JSON.stringify({ labels: ['a', 'b'] }));
  const labelledModel = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: labelled }) });
  await t.rejects(labelledModel.load(), { code: ErrorCodes.MODEL_SHAPE });

  const garbage = path.join(dir, 'garbage.onnx');
  writeFileSync(garbage, 'this is not a protobuf');
  const garbageModel = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: garbage }) });
  await t.rejects(garbageModel.load(), { code: ErrorCodes.MODEL_LOAD });
  await t.rejects(
    garbageModel.run(new Float32Array(4), 1),
    { code: ErrorCodes.MODEL_CLOSED },
    'failed load disposes',
  );
});

t.test('an onnxruntime error in run() is IG_ERR_MODEL_RUN and the worker keeps serving', async (t) => {
  const file = path.join(tempDir(t), 'fixed-reshape.onnx');
  // Declares a dynamic batch but reshapes to [1, 4]: one row works, two rows fail inside onnxruntime.
  const proto = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [opset('', 17)],
    producerName: 'infergate-test',
    graph: {
      name: 'fixed-reshape',
      node: [node('Reshape', ['features', 'shape'], ['scores'])],
      initializer: [int64Tensor('shape', [2], [1, 4])],
      input: [floatTensorValue('features', ['batch', 4])],
      output: [floatTensorValue('scores', ['batch', 4])],
    },
  }).finish();
  writeFileSync(file, proto);
  const model = await loaded(t, file, {});
  const error = await model.run(new Float32Array(8), 2).then(
    () => null,
    (e: unknown) => e,
  );
  t.equal(codeOf(error), ErrorCodes.MODEL_RUN);
  t.ok((error as Error).cause, 'carries the runtime error as cause');
  const ok = await model.run(new Float32Array([1, 2, 3, 4]), 1);
  t.same(Array.from(ok.outputs), [1, 2, 3, 4]);
});
