import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { ErrorCodes, ModelError } from '../daemon/errors.js';
import { modelConfig, modelsDir, silentLogger, tempDir } from './helpers/onnx-fixtures.js';

const shipped = path.join(modelsDir, 'atm-risk.onnx');
const actual = createHash('sha256').update(readFileSync(shipped)).digest('hex');

t.test('a sha256 mismatch is refused with its code, showing expected and actual prefixes', async (t) => {
  const expected = 'ab'.repeat(32);
  const model = createOnnxModel({
    logger: silentLogger,
    model: modelConfig({ path: shipped, sha256: expected }),
  });
  const error = await model.load().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof ModelError, 'a ModelError');
  const modelError = error as ModelError;
  t.equal(modelError.code, ErrorCodes.MODEL_SHA256_MISMATCH);
  t.equal(modelError.retryable, false);
  t.match(modelError.message, expected.slice(0, 12), 'shows the expected prefix');
  t.match(modelError.message, actual.slice(0, 12), 'shows the actual prefix');
  t.throws(() => model.info, { code: ErrorCodes.MODEL_LOAD }, 'nothing was loaded');
  await t.rejects(model.run(new Float32Array(13), 1), { code: ErrorCodes.MODEL_CLOSED });
  await model.dispose();
});

t.test('a matching sha256 is accepted (either hex case) and reported in info', async (t) => {
  for (const sha256 of [actual, actual.toUpperCase()]) {
    const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: shipped, sha256 }) });
    t.teardown(() => model.dispose());
    const info = await model.load();
    t.equal(info.sha256, actual);
  }
});

t.test('a missing model file, or a directory in its place, is IG_ERR_MODEL_NOT_FOUND', async (t) => {
  const dir = tempDir(t);
  for (const file of [path.join(dir, 'nope.onnx'), path.join(dir, 'missing-dir', 'nope.onnx')]) {
    const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
    await t.rejects(model.load(), { code: ErrorCodes.MODEL_NOT_FOUND }, file);
  }
  const asDir = path.join(dir, 'dir.onnx');
  mkdirSync(asDir);
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: asDir }) });
  await t.rejects(model.load(), { code: ErrorCodes.MODEL_NOT_FOUND }, 'directory');
});

t.test('a copy of the model without its card loads, with no labels', async (t) => {
  const dir = tempDir(t);
  const copy = path.join(dir, 'inspection.onnx');
  copyFileSync(path.join(modelsDir, 'inspection.onnx'), copy);
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: copy }) });
  t.teardown(() => model.dispose());
  t.equal((await model.load()).labels, null);
});
