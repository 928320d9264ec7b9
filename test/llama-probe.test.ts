/**
 * `infergate check-config FILE --probe`: loads the models as `run` would, prints each pipeline's measured
 * latency against its budget, and exits 1 when a budget cannot be met.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import {
  cliPath,
  sampleModel,
  atmDecide,
  atmInput,
  testConfig,
  writeConfig,
} from './helpers/gateway-process.js';
import { llmModelEntry, tinyGguf, triagePipeline } from './helpers/llama-fixtures.js';

function probe(file: string): { status: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('INFERGATE_')),
  );
  const result = spawnSync(process.execPath, [cliPath, 'check-config', file, '--probe'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('a budget the model cannot meet: NOT MET in the table, exit 1', async (t) => {
  const model = await tinyGguf();
  const dir = t.testdir({});
  const config = testConfig({
    url: 'mqtt://127.0.0.1:1',
    stateDir: `${dir}/state`,
    models: { llm: llmModelEntry(model.path), slow: llmModelEntry(model.path, { contextSize: 1024 }) },
    pipelines: [
      triagePipeline({ budgetMs: 5000 }),
      triagePipeline({
        name: 'explain',
        subscribe: 'ex/+/in',
        publish: 'ex/{1}/out',
        model: 'slow',
        budgetMs: 1,
        prompt: { mode: 'generate', maxAnswerTokens: 64 },
      }),
    ],
  });
  const result = probe(writeConfig(dir, config));
  t.equal(result.status, 1, `exit 1 (stderr: ${result.stderr.slice(-500)})`);
  const lines = result.stdout.split('\n');
  t.match(lines[0], /^pipeline\s+model\s+p50 ms\s+p95 ms\s+budget ms\s+result$/);
  t.match(
    lines.find((line) => line.startsWith('triage')),
    /^triage\s+llm\s+[\d.]+\s+[\d.]+\s+5000\s+ok$/,
  );
  t.match(
    lines.find((line) => line.startsWith('explain')),
    /^explain\s+slow\s+[\d.]+\s+[\d.]+\s+1\s+NOT MET$/,
  );
  t.match(result.stdout, /NOT MET: explain/);
});

t.test('every budget met: exit 0 (ONNX models probe the same way)', async (t) => {
  const dir = t.testdir({});
  const config = testConfig({
    url: 'mqtt://127.0.0.1:1',
    stateDir: `${dir}/state`,
    models: { 'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk') } },
    pipelines: [
      {
        name: 'atm-risk',
        subscribe: 'atm/+/tx',
        publish: 'atm/{1}/decision',
        model: 'atm-risk',
        budgetMs: 300,
        fallback: 'review',
        input: atmInput,
        decide: atmDecide,
      },
    ],
  });
  const result = probe(writeConfig(dir, config));
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /^atm-risk\s+atm-risk\s+[\d.]+\s+[\d.]+\s+300\s+ok$/m);
  t.match(result.stdout, /ok: every budget is met/);
});
