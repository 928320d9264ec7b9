/**
 * Several ONNX models on one worker pool (what bin/create-models.ts does for the daemon): they share
 * threads, each model keeps its own session and concurrency, and one model's failure or removal leaves the
 * others serving. Real onnxruntime throughout; threads are counted with the worker spy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ErrorCodes } from '../daemon/errors.js';
import type { ModelRunner } from '../daemon/ports.js';
import { writeSlowModel } from './helpers/test-models.js';
import { modelConfig, modelsDir, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { installWorkerSpy } from './helpers/worker-spy.js';

const spy = installWorkerSpy();
const { createOnnxModel } = await import('../adapters/onnx/model.js');
const { OnnxWorkerPool } = await import('../adapters/onnx/worker-pool.js');

const atmRisk = path.join(modelsDir, 'atm-risk.onnx');
const inspection = path.join(modelsDir, 'inspection.onnx');

function newPool(): InstanceType<typeof OnnxWorkerPool> {
  return new OnnxWorkerPool({ name: 'test', logger: silentLogger });
}

function pooled(
  t: Test,
  pool: InstanceType<typeof OnnxWorkerPool>,
  file: string,
  workers = 1,
  name?: string,
): ModelRunner {
  const config = modelConfig({ path: file, workers, ...(name === undefined ? {} : { name }) });
  const model = createOnnxModel({ logger: silentLogger, model: config, pool });
  t.teardown(() => model.dispose());
  return model;
}

async function answers(model: ModelRunner, width: number, outputs: number): Promise<boolean> {
  const result = await model.run(new Float32Array(width).fill(0.5), 1);
  return result.outputs.length === outputs && result.outputs.every(Number.isFinite);
}

t.test('models on one pool share one thread; each keeps serving when the other leaves', async (t) => {
  const before = spy.workers.length;
  const pool = newPool();
  const atm = pooled(t, pool, atmRisk);
  const parts = pooled(t, pool, inspection);
  await Promise.all([atm.load(), parts.load()]);
  t.equal(spy.workers.length - before, 1, 'one thread started for two models');
  t.equal(spy.alive().length, 1);
  t.ok(await answers(atm, 13, 1), 'atm-risk answers');
  t.ok(await answers(parts, 16, 4), 'inspection answers');

  await atm.dispose();
  await t.rejects(atm.run(new Float32Array(13), 1), { code: ErrorCodes.MODEL_CLOSED });
  t.equal(spy.alive().length, 1, 'the thread stays for the other model');
  t.ok(await answers(parts, 16, 4), 'inspection still answers');

  await parts.dispose();
  t.equal(spy.alive().length, 0, 'the last model takes the thread with it');
});

t.test('a model with workers: 2 brings a second thread, and takes it away again', async (t) => {
  const pool = newPool();
  const dir = tempDir(t);
  const slowFile = path.join(dir, 'slow.onnx');
  await writeSlowModel(slowFile, { inputs: 4, outputs: 1, chainLength: 300 });
  const slow = pooled(t, pool, slowFile);
  const parts = pooled(t, pool, inspection, 2);
  await Promise.all([slow.load(), parts.load()]);
  t.equal(pool.threads, 2);
  t.equal(parts.concurrency, 2);

  // The slow model holds thread 0; inspection's runs go to thread 1 instead of waiting behind it.
  const slowRun = slow.run(new Float32Array(4).fill(1), 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  t.ok(await answers(parts, 16, 4));
  const waitedMs = performance.now() - started;
  const { inferenceMs } = await slowRun;
  t.ok(
    waitedMs < inferenceMs / 2,
    `inspection answered in ${waitedMs.toFixed(1)} ms during a ${inferenceMs.toFixed(0)} ms run`,
  );

  await parts.dispose();
  t.equal(pool.threads, 1, 'the second thread closed with the only model on it');
  t.equal(spy.alive().length, 1);
  t.ok(await answers(slow, 4, 1), 'the slow model still answers');
  await slow.dispose();
  t.equal(pool.threads, 0);
});

t.test('a model onnxruntime refuses fails alone', async (t) => {
  const pool = newPool();
  const garbage = path.join(tempDir(t), 'garbage.onnx');
  writeFileSync(garbage, 'this is not a protobuf');
  const atm = pooled(t, pool, atmRisk);
  await atm.load();
  const bad = pooled(t, pool, garbage);
  await t.rejects(bad.load(), { code: ErrorCodes.MODEL_LOAD });
  t.equal(spy.alive().length, 1, 'the shared thread lives on');
  t.ok(await answers(atm, 13, 1), 'the other model still answers');
  await atm.dispose();
  t.equal(pool.threads, 0);
});

t.test('a thread that dies comes back with the sessions of every model on it', async (t) => {
  const pool = newPool();
  const atm = pooled(t, pool, atmRisk);
  const parts = pooled(t, pool, inspection);
  await Promise.all([atm.load(), parts.load()]);
  const [victim] = spy.alive();
  // Ended while idle (in JavaScript): ending a thread inside onnxruntime would abort the process.
  await victim!.terminate();
  t.ok(await answers(atm, 13, 1), 'atm-risk answers on the new thread');
  t.ok(await answers(parts, 16, 4), 'inspection answers on the new thread');
  t.equal(spy.alive().length, 1);
  t.not(spy.alive()[0], victim);
  await Promise.all([atm.dispose(), parts.dispose()]);
  t.equal(pool.threads, 0);
});

t.test('the same model name twice (as during a reload) gets two sessions', async (t) => {
  const pool = newPool();
  const old = pooled(t, pool, atmRisk);
  await old.load();
  const fresh = pooled(t, pool, inspection, 1, 'atm-risk');
  await fresh.load();
  await old.dispose();
  t.ok(await answers(fresh, 16, 4), 'the new model runs its own session');
  await fresh.dispose();
  t.equal(pool.threads, 0);
});

t.test('removing a model whose session is being created leaves the other load intact', async (t) => {
  const pool = newPool();
  const spec = (name: string, file: string) => ({
    name,
    workers: 1,
    intraOpThreads: 1,
    modelBytes: readFileSync(file),
    queueLimit: 4,
  });
  const atm = pool.add(spec('atm-risk', atmRisk));
  const parts = pool.add(spec('inspection', inspection));
  const removed = pool.remove(atm.key);
  t.equal(pool.remove(atm.key), removed, 'a second remove() waits for the same release');
  await t.rejects(atm.loaded, { code: ErrorCodes.MODEL_CLOSED });
  const metadata = await parts.loaded;
  t.equal(metadata.inputs[0]?.name, 'features');
  await removed;
  t.equal(pool.threads, 1, 'the thread stays for inspection');
  await pool.remove(parts.key);
  t.equal(pool.threads, 0);
  t.equal(spy.alive().length, 0);
});
