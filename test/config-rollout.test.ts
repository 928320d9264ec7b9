/** The `shadow` and `canary` pipeline keys: defaults, and every problem listed at once. */
import t from 'tap';
import { configFromObject } from '../config/load-config.js';
import { configProblems } from './helpers/config-problems.js';
import { atmPipeline, sampleModel, testConfig } from './helpers/gateway-process.js';

const models = {
  'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk') },
  student: { runtime: 'onnx', path: sampleModel('atm-risk.int8') },
  candidate: { runtime: 'onnx', path: sampleModel('atm-risk.fp32') },
  chat: { runtime: 'llama', path: sampleModel('atm-risk') },
};

const config = (pipeline: Record<string, unknown>) =>
  testConfig({
    url: 'mqtt://127.0.0.1:1883',
    stateDir: '/tmp/x',
    models,
    pipelines: [atmPipeline(pipeline)],
  });

t.test('a valid shadow and canary, with the canary defaults', async (t) => {
  const loaded = configFromObject(
    config({ shadow: 'student', canary: { model: 'candidate', share: 0.1, key: { topicLevel: 1 } } }),
  );
  const pipeline = loaded.pipelines[0]!;
  t.equal(pipeline.shadow, 'student');
  t.same(pipeline.canary, {
    model: 'candidate',
    share: 0.1,
    key: { kind: 'topicLevel', level: 1 },
    maxFallbackRate: 0.05,
    maxP99Ms: 300,
    minEvents: 50,
    windowSec: 300,
  });
  const plain = configFromObject(config({}));
  t.equal(plain.pipelines[0]!.shadow, null, 'no shadow by default');
  t.equal(plain.pipelines[0]!.canary, null, 'no canary by default');
  const byField = configFromObject(
    config({ canary: { model: 'candidate', share: 1, key: { field: 'terminal.id' }, maxP99Ms: 80 } }),
  );
  t.match(byField.pipelines[0]!.canary, { key: { kind: 'field', path: 'terminal.id' }, maxP99Ms: 80 });
});

t.test('every shadow and canary problem is listed', async (t) => {
  const problems = configProblems(() =>
    configFromObject(
      config({
        shadow: 'missing',
        canary: {
          model: 'chat',
          share: 0,
          key: { topicLevel: 3, field: 'x' },
          maxFallbackRate: 2,
          minEvents: 0,
          windowSec: 'long',
          extra: true,
        },
      }),
    ),
  );
  const at = (path: string) => problems.filter((p) => p.path === path).map((p) => p.message);
  t.match(at('pipelines[0].shadow'), [/names no model in models/]);
  t.match(at('pipelines[0].canary.model'), [/must be a tensor \(onnx\) model: chat is llama/]);
  t.match(at('pipelines[0].canary.share'), [/greater than 0 and at most 1/]);
  t.match(at('pipelines[0].canary.key'), [/exactly one of topicLevel/]);
  t.match(at('pipelines[0].canary.maxFallbackRate'), [/between 0 and 1/]);
  t.match(at('pipelines[0].canary.minEvents'), [/integer between 1/]);
  t.match(at('pipelines[0].canary.windowSec'), [/integer between 1/]);
  t.ok(at('pipelines[0].canary.extra').length === 1, 'an unknown canary key');

  const more = configProblems(() =>
    configFromObject(
      config({
        shadow: 'atm-risk',
        canary: { model: 'student', share: 0.5, key: { topicLevel: 3 } },
      }),
    ),
  );
  t.match(
    more.map((p) => [p.path, p.message]),
    [
      ['pipelines[0].shadow', /another model than the pipeline model/],
      ['pipelines[0].canary.key.topicLevel', /between 0 and 2/],
    ],
  );
  const same = configProblems(() =>
    configFromObject(
      config({ shadow: 'student', canary: { model: 'student', share: 0.5, key: { field: 'id' } } }),
    ),
  );
  t.match(same, [{ path: 'pipelines[0].canary.model', message: /must differ from shadow/ }]);
});
