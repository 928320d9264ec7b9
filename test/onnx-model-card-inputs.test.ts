import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { ErrorCodes } from '../daemon/errors.js';
import { writeTinyModel } from './helpers/test-models.js';
import { modelConfig, silentLogger, tempDir } from './helpers/onnx-fixtures.js';

t.test('a model card that lists input names must list as many as the model takes', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'tiny.onnx');
  await writeTinyModel(file, { inputs: 4, outputs: 1 });
  const load = async (): Promise<unknown> => {
    const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
    t.teardown(() => model.dispose());
    return model.load();
  };

  writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify({ inputs: [{ name: 'a' }, 'b', 'c'] }));
  await t.rejects(load(), { code: ErrorCodes.MODEL_SHAPE, message: /lists 3 inputs but the model takes 4/ });

  writeFileSync(
    path.join(dir, 'tiny.json'),
    JSON.stringify({ inputs: [{ name: 'a', unit: 'EUR' }, 'b', 'c', 'd'] }),
  );
  await t.resolves(load(), 'four names for four inputs');

  writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify({ inputs: 'not a list', labels: ['risk'] }));
  await t.resolves(load(), 'a card without an input list is only read for labels');
});
