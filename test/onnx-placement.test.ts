import path from 'node:path';
import t from 'tap';
import { createOnnxModel } from '../adapters/onnx/index.js';
import { ErrorCodes } from '../daemon/errors.js';
import { modelConfig, modelsDir, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { writeSlowModel } from './helpers/test-models.js';

const atmRisk = path.join(modelsDir, 'atm-risk.onnx');

/** A batch of rows that exercises the model (not all zeros). */
function rows(n: number): Float32Array {
  return Float32Array.from({ length: n * 13 }, (_, i) => ((i * 7919) % 101) / 50 - 1);
}

t.test('auto runs a microsecond model inline, with the same outputs as on a worker', async (t) => {
  const inline = createOnnxModel({
    logger: silentLogger,
    model: modelConfig({ path: atmRisk, placement: 'auto', maxBatch: 16 }),
  });
  const onWorker = createOnnxModel({
    logger: silentLogger,
    model: modelConfig({ path: atmRisk, placement: 'workers', maxBatch: 16 }),
  });
  t.teardown(async () => {
    await inline.dispose();
    await onWorker.dispose();
  });
  await Promise.all([inline.load(), onWorker.load()]);
  t.equal(inline.placement, 'inline');
  t.equal(inline.concurrency, 1);
  t.equal(onWorker.placement, 'off-loop');
  for (const n of [1, 5, 16]) {
    const now = inline.runNow!(rows(n), n);
    const later = await onWorker.run(rows(n), n);
    t.same([...now.outputs], [...later.outputs], `${n} rows: identical outputs`);
    t.ok(now.inferenceMs >= 0);
  }
  const viaRun = await inline.run(rows(3), 3);
  t.equal(viaRun.outputs.length, 3, 'run() works on an inline model too');
  t.throws(
    () => onWorker.runNow!(rows(1), 1),
    { code: ErrorCodes.MODEL_RUN },
    'a worker model has no runNow',
  );
  t.throws(() => inline.runNow!(rows(1), 2), { code: ErrorCodes.MODEL_RUN }, 'a wrong row count is refused');
});

t.test('auto sends a model slower than the inline threshold to the workers', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'slow.onnx');
  // A few milliseconds per run: far over the 1 ms a full batch may take inline.
  await writeSlowModel(file, { inputs: 13, outputs: 1, chainLength: 60 });
  const model = createOnnxModel({
    logger: silentLogger,
    model: modelConfig({ path: file, placement: 'auto' }),
  });
  t.teardown(() => model.dispose());
  await model.load();
  t.equal(model.placement, 'off-loop');
  const result = await model.run(new Float32Array(13), 1);
  t.equal(result.outputs.length, 1);
});

t.test('placement inline is obeyed; a disposed inline model refuses runs', async (t) => {
  const model = createOnnxModel({
    logger: silentLogger,
    model: modelConfig({ path: atmRisk, placement: 'inline' }),
  });
  await model.load();
  t.equal(model.placement, 'inline');
  await model.dispose();
  await model.dispose();
  t.throws(() => model.runNow!(rows(1), 1), { code: ErrorCodes.MODEL_CLOSED });
  await t.rejects(model.run(rows(1), 1), { code: ErrorCodes.MODEL_CLOSED });
});

t.test('an unknown placement is a config error', async (t) => {
  t.throws(
    () =>
      createOnnxModel({
        logger: silentLogger,
        model: modelConfig({ path: atmRisk, placement: 'gpu' as never }),
      }),
    { code: ErrorCodes.CONFIG_INVALID },
  );
});
