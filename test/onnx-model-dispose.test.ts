import path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '../daemon/errors.js';
import { writeSlowModel } from './helpers/test-models.js';
import { modelConfig, modelsDir, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { installWorkerSpy } from './helpers/worker-spy.js';

const spy = installWorkerSpy();
const { createOnnxModel } = await import('../adapters/onnx/model.js');

const atmRisk = path.join(modelsDir, 'atm-risk.onnx');

t.test('dispose() is idempotent and ends every worker thread', async (t) => {
  const before = spy.workers.length;
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: atmRisk, workers: 2 }) });
  await model.load();
  t.equal(spy.alive().length, 2, 'two workers running');
  const first = model.dispose();
  t.equal(model.dispose(), first, 'a second call returns the same promise');
  await first;
  await model.dispose();
  t.equal(spy.workers.length - before, 2);
  t.equal(spy.alive().length, 0, 'no worker thread left');
  await t.rejects(model.run(new Float32Array(13), 1), { code: ErrorCodes.MODEL_CLOSED });
  t.ok(model.info.sha256, 'info stays readable after dispose');
});

t.test('dispose() rejects the running and the queued runs with IG_ERR_MODEL_CLOSED', async (t) => {
  const file = path.join(tempDir(t), 'slow.onnx');
  await writeSlowModel(file, { inputs: 4, outputs: 2, chainLength: 300 });
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  await model.load();
  const runs = [0, 1, 2].map(() => model.run(new Float32Array(4), 1));
  const settled = Promise.allSettled(runs);
  await new Promise((resolve) => setTimeout(resolve, 10));
  const started = performance.now();
  await model.dispose();
  const disposeMs = performance.now() - started;
  for (const outcome of await settled) {
    t.equal(outcome.status, 'rejected');
    if (outcome.status === 'rejected')
      t.equal((outcome.reason as { code?: string }).code, ErrorCodes.MODEL_CLOSED);
  }
  t.ok(
    disposeMs < 5_000,
    `dispose took ${disposeMs.toFixed(0)} ms (waits for the native run at most a grace period)`,
  );
  t.equal(spy.alive().length, 0, 'no worker thread left');
});

t.test('dispose() before or during load() makes load() reject with IG_ERR_MODEL_CLOSED', async (t) => {
  const early = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: atmRisk }) });
  await early.dispose();
  await t.rejects(early.load(), { code: ErrorCodes.MODEL_CLOSED }, 'disposed before load');

  const during = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: atmRisk, workers: 2 }) });
  const loading = during.load();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await during.dispose();
  await t.rejects(loading, { code: ErrorCodes.MODEL_CLOSED }, 'disposed while loading');
  t.equal(spy.alive().length, 0, 'no worker thread left');
});
