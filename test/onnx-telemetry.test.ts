/**
 * onnxruntime-node 1.30 keeps a Microsoft telemetry device id and event cache under $XDG_CACHE_HOME (or
 * ~/.cache) unless ORT_DISABLE_TELEMETRY=1 is set before it initializes. The ONNX adapter sets it; these
 * tests run a model in a child process whose cache and home point into a temp dir and look there. The
 * control case (onnxruntime used directly, nothing set) shows the look would see the cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { modelsDir, packageRoot, tempDir } from './helpers/onnx-fixtures.js';

const distUrl = (file: string): string => pathToFileURL(path.join(packageRoot, 'dist', file)).href;
const atmRisk = path.join(modelsDir, 'atm-risk.onnx');

/** Runs an ES module script with HOME and XDG_CACHE_HOME in a fresh dir; returns where a cache would be. */
function runIsolated(t: Test, script: string): string {
  const home = tempDir(t);
  const cache = path.join(home, 'cache');
  mkdirSync(cache);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: cache };
  delete env.ORT_DISABLE_TELEMETRY;
  // onnxruntime also stays quiet when CI=true (as in our CI): the control case must see what a box sees.
  delete env.CI;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    cwd: packageRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(result.status, 0, `the script ran: ${result.stderr}`);
  return path.join(cache, 'Microsoft');
}

t.test('control: onnxruntime on its own writes its telemetry cache', async (t) => {
  const script = `
    import { Worker } from 'node:worker_threads';
    const source = \`
      const ort = require(${JSON.stringify(path.join(packageRoot, 'node_modules', 'onnxruntime-node'))});
      ort.InferenceSession.create(${JSON.stringify(atmRisk)}).then((s) => s.release());\`;
    const worker = new Worker(source, { eval: true, execArgv: [] });
    await new Promise((resolve) => worker.once('exit', resolve));`;
  t.ok(existsSync(runIsolated(t, script)), 'onnxruntime created its Microsoft cache dir');
});

for (const placement of ['inline', 'workers']) {
  t.test(`the ONNX adapter turns telemetry off before onnxruntime starts (${placement})`, async (t) => {
    const script = `
      import { pino } from 'pino';
      import { createOnnxModel } from ${JSON.stringify(distUrl('adapters/onnx/model.js'))};
      const model = createOnnxModel({
        logger: pino({ level: 'silent' }),
        model: { name: 'atm-risk', runtime: 'onnx', path: ${JSON.stringify(atmRisk)}, sha256: null,
          threads: 1, workers: 1, placement: '${placement}', maxBatch: 1, llama: null },
      });
      await model.load();
      await model.run(new Float32Array(13), 1);
      await model.dispose();
      if (process.env.ORT_DISABLE_TELEMETRY !== '1') process.exit(3);`;
    t.notOk(existsSync(runIsolated(t, script)), 'no telemetry cache dir');
  });
}
