/**
 * Which llama.cpp build and CPU library a process runs: read from the libraries it has mapped, shown in
 * the runtime's start log and by `check-config --probe` (on the tiny GGUF), and parsed from maps lines of
 * the builds this box does not have (AMX, CUDA, a local build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeLlamaDevice, llamaDeviceInUse, parseLlamaDevice } from '../adapters/llama/device-report.js';
import { acquireLlamaRuntime } from '../adapters/llama/runtime.js';
import { cliPath, testConfig, writeConfig } from './helpers/gateway-process.js';
import { llmModelEntry, tinyGguf, triagePipeline } from './helpers/llama-fixtures.js';
import { memoryLogger } from './helpers/mqtt-fixtures.js';

const line = (file: string): string =>
  `7f0c1a200000-7f0c1a400000 r-xp 00001000 08:01 1234567                    ${file}`;
const PREBUILT = '/opt/infergate/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64';

t.test('parsed from maps lines: prebuilt variants, GPU builds, a local build, none', async (t) => {
  const amx = parseLlamaDevice(
    [
      line(`${PREBUILT}/libggml-base.so`),
      line(`${PREBUILT}/libggml-cpu-sapphirerapids.so`),
      line(`${PREBUILT}/libllama.v0.4.0.so`),
      line('/usr/lib/x86_64-linux-gnu/libc.so.6'),
    ].join('\n'),
  );
  t.same(amx, { build: 'cpu', cpuVariant: 'sapphirerapids', binaryDir: PREBUILT });
  t.equal(describeLlamaDevice(amx!), 'cpu build, CPU variant sapphirerapids (linux-x64)');

  const cudaDir = '/opt/infergate/node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda';
  const cuda = parseLlamaDevice(
    [
      line(`${cudaDir}/libggml-base.so`),
      line(`${cudaDir}/libggml-cpu-zen4.so`),
      line(`${cudaDir}/libggml-cuda.so`),
    ].join('\n'),
  );
  t.same(cuda, { build: 'cuda', cpuVariant: 'zen4', binaryDir: cudaDir });

  const arm = parseLlamaDevice(
    line('/x/@node-llama-cpp/linux-arm64/bins/linux-arm64/libggml-cpu-armv8.2_1.so'),
  );
  t.equal(arm?.cpuVariant, 'armv8.2_1', 'arm variants keep their dots');

  const localDir = '/opt/infergate/node_modules/node-llama-cpp/llama/localBuilds/linux-arm64-cuda/Release';
  const local = parseLlamaDevice(
    [
      line(`${localDir}/libggml-base.so`),
      line(`${localDir}/libggml-cpu.so`),
      line(`${localDir}/libggml-cuda.so`),
    ].join('\n'),
  );
  t.same(local, { build: 'cuda', cpuVariant: null, binaryDir: localDir });
  t.equal(describeLlamaDevice(local!), 'cuda build, one CPU library (Release)');

  t.equal(parseLlamaDevice([line('/usr/bin/node'), line('/usr/lib/libonnxruntime.so.1')].join('\n')), null);
  t.equal(llamaDeviceInUse('/nonexistent/maps'), null, 'no maps file: no report');
});

t.test('in this process: none before the runtime starts, then the library it mapped', async (t) => {
  t.equal(llamaDeviceInUse(), null, 'no llama.cpp library before the runtime starts');
  const logs = memoryLogger('info');
  const runtime = await acquireLlamaRuntime('cpu', logs.logger);
  t.teardown(() => runtime.release());
  const { path, sha256 } = await tinyGguf();
  const model = await runtime.loadModel(path, sha256, 0);
  t.teardown(() => model.release());

  const report = llamaDeviceInUse();
  t.ok(report, 'a report once the runtime is loaded');
  t.equal(report!.build, 'cpu');
  if (report!.cpuVariant !== null) {
    const library = join(report!.binaryDir, `libggml-cpu-${report!.cpuVariant}.so`);
    t.ok(existsSync(library), `${library} exists`);
    t.ok(readFileSync('/proc/self/maps', 'utf8').includes(library), 'and is the one mapped');
  }
  const [started] = logs.find('llama runtime started');
  t.match(
    started,
    { device: 'cpu', cpuVariant: report!.cpuVariant, binaries: report!.binaryDir },
    'in the start log',
  );
});

t.test('check-config --probe names the build and CPU variant', async (t) => {
  const model = await tinyGguf();
  const dir = t.testdir({});
  const config = testConfig({
    url: 'mqtt://127.0.0.1:1',
    stateDir: `${dir}/state`,
    models: { llm: llmModelEntry(model.path) },
    pipelines: [triagePipeline({ budgetMs: 5000 })],
  });
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('INFERGATE_')),
  );
  const result = spawnSync(process.execPath, [cliPath, 'check-config', writeConfig(dir, config), '--probe'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(result.status, 0, result.stderr.slice(-500));
  t.match(result.stdout, /^llama\.cpp: cpu build, (CPU variant [\w.]+|one CPU library) \([^)]+\)$/m);
});

t.test('check-config --probe with ONNX models only: no llama.cpp line', async (t) => {
  const dir = t.testdir({});
  const config = testConfig({ url: 'mqtt://127.0.0.1:1', stateDir: `${dir}/state` });
  const result = spawnSync(process.execPath, [cliPath, 'check-config', writeConfig(dir, config), '--probe'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(result.status, 0, result.stderr.slice(-500));
  t.notMatch(result.stdout, /llama\.cpp/);
});
