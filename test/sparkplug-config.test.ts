import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { configFromObject } from '../config/load-config.js';
import { ConfigError } from '../daemon/errors.js';
import { configDocument, configPipeline } from './helpers/config-document.js';
import { cliPath, packageRoot, tempDir, writeConfig } from './helpers/gateway-process.js';
import { thrown } from './helpers/thrown.js';

const noEnv = {};

function problemsOf(document: Record<string, unknown>): { path: string; message: string }[] {
  const error = thrown(() => configFromObject(document, { env: noEnv }));
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return [...error.problems];
}

const sparkplugPipeline = (overrides: Record<string, unknown> = {}) =>
  configPipeline({
    decoder: 'sparkplug',
    subscribe: 'spBv1.0/g1/DDATA/+/+',
    publish: 'out/{1}/{2}',
    ...overrides,
  });

t.test('a valid Sparkplug config: defaults and the pipeline decoder', async (t) => {
  const config = configFromObject(configDocument({ pipelines: [sparkplugPipeline()] }), { env: noEnv });
  t.equal(config.pipelines[0]!.decoder, 'sparkplug');
  t.same(config.sparkplug, {
    hostId: null,
    rebirthMinIntervalMs: 5000,
    eventIdMetric: null,
    commands: {
      mode: 'off',
      decisionMetric: null,
      rejectMetric: null,
      rejectDecision: 'reject',
      scoreMetric: null,
    },
  });
});

t.test('every Sparkplug problem is listed', async (t) => {
  const problems = problemsOf(
    configDocument({
      sparkplug: {
        hostId: 'a/b',
        rebirthMinIntervalMs: 5,
        commands: { mode: 'also' },
      },
      pipelines: [
        sparkplugPipeline({ name: 'a', subscribe: 'spBv1.0/g1/DDATA/#' }),
        sparkplugPipeline({ name: 'b', subscribe: 'spBv1.0/+/DDATA/e1/+', publish: 'spBv1.0/x/{1}' }),
        sparkplugPipeline({ name: 'c', subscribe: 'spBv1.0/g2/DDATA/+/+', publish: 'out2/{1}/{2}' }),
        configPipeline({ name: 'd', subscribe: 'spBv1.0/g3/DDATA/e/d', publish: 'out3' }),
        configPipeline({ name: 'e', subscribe: '+/g2/NBIRTH/+', publish: 'out4/{1}' }),
      ],
    }),
  );
  const expected: [string, RegExp][] = [
    ['sparkplug.hostId', /one topic level/],
    ['sparkplug.rebirthMinIntervalMs', /between 100 and 3600000/],
    ['sparkplug.commands.mode', /name at least one of decisionMetric/],
    ['pipelines[0].subscribe', /spBv1\.0\/<group>\/DDATA/],
    ['pipelines[1].publish', /must not be in the Sparkplug namespace/],
    ['pipelines[2].subscribe', /covers some but not all edge nodes of pipelines\[1\]/],
    ['pipelines[3].subscribe', /use decoder: sparkplug/],
    ['pipelines[4].subscribe', /can match the Sparkplug messages/],
  ];
  for (const [path, message] of expected) {
    t.ok(
      problems.some((p) => p.path === path && message.test(p.message)),
      `${path}: ${message}`,
      { found: problems },
    );
  }
});

t.test('check-config: the shipped example is valid; a bad one exits 78 listing every problem', async (t) => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [cliPath, ...args], { cwd: packageRoot, encoding: 'utf8', timeout: 30000 });
  const good = run(['check-config', 'config/examples/sparkplug.yaml']);
  t.equal(good.status, 0, good.stderr);
  t.equal(good.stdout, 'ok: config/examples/sparkplug.yaml (1 pipeline, 1 model)\n');

  const dir = tempDir(t);
  const file = writeConfig(
    dir,
    configDocument({
      models: { m: { runtime: 'onnx', path: join(packageRoot, 'models', 'inspection.onnx') } },
      sparkplug: { hostId: 'has space', commands: { mode: 'sometimes' } },
      pipelines: [sparkplugPipeline({ subscribe: 'spBv1.0/g1/NDATA/e1/d1' })],
    }),
  );
  const bad = run(['check-config', file]);
  t.equal(bad.status, 78, 'EX_CONFIG');
  t.match(bad.stderr, /sparkplug\.hostId/);
  t.match(bad.stderr, /sparkplug\.commands\.mode: must be one of: off, also, instead/);
  t.match(bad.stderr, /pipelines\[0\]\.subscribe/);
});
