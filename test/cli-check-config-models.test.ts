/**
 * `infergate check-config` checks every model file without loading it: it exists, is a regular file, can
 * be read and matches its pinned sha256. Each problem is listed with its path; exit 78.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  atmPipeline,
  cliPath,
  sampleModel,
  tempDir,
  testConfig,
  writeConfig,
} from './helpers/gateway-process.js';
import { unprivilegedCli } from './helpers/unprivileged-cli.js';

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('INFERGATE_')),
);

function checkConfig(file: string) {
  const result = spawnSync(process.execPath, [cliPath, 'check-config', file], {
    env: cleanEnv,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A config over `models` (name → entry), one pipeline on each. */
function configWith(dir: string, models: Record<string, Record<string, unknown>>): string {
  return writeConfig(
    dir,
    testConfig({
      url: 'mqtt://127.0.0.1:1',
      stateDir: join(dir, 'state'),
      models,
      pipelines: Object.keys(models).map((name, i) =>
        atmPipeline({
          name: `p${i}`,
          subscribe: `atm${i}/+/tx`,
          publish: `atm${i}/{1}/decision`,
          model: name,
        }),
      ),
    }),
  );
}

t.test('good files, pinned or not: exit 0', async (t) => {
  const dir = tempDir(t);
  const model = sampleModel('atm-risk');
  const file = configWith(dir, {
    pinned: { runtime: 'onnx', path: model, sha256: sha256(model) },
    unpinned: { runtime: 'onnx', path: model },
  });
  const result = checkConfig(file);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /^ok: .* \(2 pipelines, 2 models\)$/m);
});

t.test('missing, a directory, sha256 mismatch: every problem listed, exit 78', async (t) => {
  const dir = tempDir(t);
  const model = sampleModel('atm-risk');
  const actual = sha256(model);
  const file = configWith(dir, {
    missing: { runtime: 'onnx', path: join(dir, 'nowhere.onnx') },
    folder: { runtime: 'onnx', path: dir },
    swapped: { runtime: 'onnx', path: model, sha256: 'ab'.repeat(32) },
    fine: { runtime: 'onnx', path: model, sha256: actual },
  });
  const result = checkConfig(file);
  t.equal(result.status, 78, 'EX_CONFIG');
  t.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  t.match(lines, [
    `${file}: models.missing.path: no such file: ${join(dir, 'nowhere.onnx')}`,
    `${file}: models.folder.path: is not a regular file: ${dir}`,
    `${file}: models.swapped.sha256: does not match ${model}: pinned abababababab…, the file has ${actual}`,
    /is invalid \(3 problems\)$/,
  ]);
  t.equal(lines.length, 4, 'the good model is not listed');
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

t.test('an unreadable model file: permission denied, exit 78', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const models = join(dir, 'models');
  mkdirSync(models);
  const locked = join(models, 'atm-risk.onnx');
  copyFileSync(sampleModel('atm-risk'), locked);
  chmodSync(locked, 0o000);
  const file = configWith(dir, { locked: { runtime: 'onnx', path: locked } });
  chmodSync(file, 0o644);
  const result = unprivilegedCli(['check-config', file]);
  t.equal(result.status, 78, result.stderr);
  t.match(result.stderr, `${file}: models.locked.path: cannot be read (permission denied): ${locked}`);
});
