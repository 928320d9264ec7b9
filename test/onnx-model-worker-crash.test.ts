import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { ErrorCodes } from '../daemon/errors.js';
import { writeTinyModel } from './helpers/test-models.js';
import { modelConfig, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { installWorkerSpy } from './helpers/worker-spy.js';

const spy = installWorkerSpy();
const { createOnnxModel } = await import('../adapters/onnx/model.js');

// Killing a worker while it is inside onnxruntime aborts the whole process (see adapters/onnx/worker-pool.ts), so
// these tests end workers only while they run JavaScript: the worker either gets `close` in place of its
// next run (it exits holding a run), or is terminated while idle.

function exitInsteadOfNextRun(worker: Worker): void {
  const post = worker.postMessage.bind(worker);
  worker.postMessage = (message: unknown) => {
    worker.postMessage = post;
    post({ type: 'close' });
    void message;
  };
}

async function tinyModel(t: Test) {
  const file = path.join(tempDir(t), 'tiny.onnx');
  await writeTinyModel(file, { inputs: 4, outputs: 2 });
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  t.teardown(() => model.dispose());
  await model.load();
  return model;
}

t.test('a worker that exits during a run fails it (retryable) and is replaced', async (t) => {
  const model = await tinyModel(t);
  const [victim] = spy.alive();
  exitInsteadOfNextRun(victim!);
  await t.rejects(model.run(new Float32Array(4), 1), { code: ErrorCodes.MODEL_RUN, retryable: true });
  const after = await model.run(new Float32Array(4).fill(1), 1);
  t.equal(after.outputs.length, 2, 'the replacement answers');
  t.equal(spy.alive().length, 1, 'one worker alive');
  t.not(spy.alive()[0], victim, 'and it is a new one');
});

t.test('an idle worker that dies is replaced before the next run needs it', async (t) => {
  const model = await tinyModel(t);
  const [victim] = spy.alive();
  await victim!.terminate();
  const after = await model.run(new Float32Array(4).fill(1), 1);
  t.equal(after.outputs.length, 2);
  t.equal(spy.alive().length, 1);
});
