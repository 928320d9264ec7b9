/**
 * bin/create-models.ts for the shipped default config (two ONNX pipelines): the models share one worker
 * thread, and the LLM runtime is never imported. Runs in a child process whose module resolution refuses
 * `node-llama-cpp`, so an import anywhere on the path (even an unused one) fails the run.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { packageRoot, tempDir } from './helpers/onnx-fixtures.js';

const distUrl = (file: string): string => pathToFileURL(path.join(packageRoot, 'dist', file)).href;

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === 'node-llama-cpp' || specifier.startsWith('node-llama-cpp/')) {
    throw new Error('node-llama-cpp was imported');
  }
  return next(specifier, context);
}`;

/** Runs an ES module script with node-llama-cpp made unresolvable. */
function withoutLlama(t: Test, script: string): { status: number | null; stdout: string; stderr: string } {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'hooks.mjs'), HOOKS);
  const register = path.join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
  const result = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(register).href, '--input-type=module', '-e', script],
    { cwd: packageRoot, encoding: 'utf8', timeout: 60_000 },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('control: the resolve hook does refuse node-llama-cpp', async (t) => {
  const { status, stderr } = withoutLlama(t, `await import('node-llama-cpp');`);
  t.not(status, 0);
  t.match(stderr, /node-llama-cpp was imported/);
});

for (const placement of ['auto', 'workers'] as const) {
  t.test(
    `default config (placement ${placement}): ONNX models share the pool's threads, no LLM runtime`,
    async (t) => {
      const script = `
      import { pino } from 'pino';
      import { installWorkerSpy } from ${JSON.stringify(distUrl('test/helpers/worker-spy.js'))};
      const spy = installWorkerSpy();
      const { loadConfig } = await import(${JSON.stringify(distUrl('config/load-config.js'))});
      const { modelFactory } = await import(${JSON.stringify(distUrl('bin/create-models.js'))});
      const loaded = loadConfig(${JSON.stringify(path.join(packageRoot, 'config', 'default.yaml'))});
      const config = { ...loaded, models: Object.fromEntries(Object.entries(loaded.models)
        .map(([name, model]) => [name, { ...model, placement: '${placement}' }])) };
      const models = await modelFactory(pino({ level: 'silent' }))(config);
      await Promise.all([...models.values()].map((model) => model.load()));
      // A thread that let its last model go (auto moved it inline) may still be exiting.
      const started = Date.now();
      while (spy.alive().length > ${placement === 'auto' ? 0 : 1} && Date.now() - started < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const threads = spy.alive().length;
      const placements = [...models.values()].map((model) => model.placement);
      await Promise.all([...models.values()].map((model) => model.dispose()));
      console.log(JSON.stringify({ models: models.size, threads, placements, after: spy.alive().length }));`;
      const { status, stdout, stderr } = withoutLlama(t, script);
      t.equal(status, 0, stderr);
      t.same(
        JSON.parse(stdout),
        placement === 'auto'
          ? // The sample MLPs are microsecond-class: both end up inline and the probe's thread goes away.
            { models: 2, threads: 0, placements: ['inline', 'inline'], after: 0 }
          : { models: 2, threads: 1, placements: ['off-loop', 'off-loop'], after: 0 },
      );
    },
  );
}
