import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import tap from 'tap';
import { ConfigError, ErrorCodes, InfergateError } from '../daemon/errors.js';
import { configFromObject, loadConfig } from '../config/load-config.js';
import { configDocument, configPipeline } from './helpers/config-document.js';
import { configProblems, type ConfigProblem } from './helpers/config-problems.js';
import { thrown } from './helpers/thrown.js';

const noEnv = {};

/** Asserts that exactly these problems were reported (order-insensitive), each matched on path and message. */
function expectProblems(
  t: Pick<typeof tap, 'ok' | 'equal'>,
  problems: ConfigProblem[],
  expected: [string, RegExp][],
): void {
  for (const [path, message] of expected) {
    t.ok(
      problems.some((p) => p.path === path && message.test(p.message)),
      `${path}: ${message}`,
      { found: problems },
    );
  }
  t.equal(problems.length, expected.length, 'no other problems', { found: problems });
}

const BAD_YAML = `# one mistake per line marked "<-"
gateway:
  id: gw one                 # <- space: not a single topic level
mqtt:
  url: http://broker:1883    # <- scheme
  protocolVersion: 3         # <- 4 or 5
  keepAliveSec: 30           # <- unknown key (keepaliveSec)
  sessionExpirySec: 0        # <- would drop the session
broker:
  embedded:
    port: 65536              # <- range
limits:
  maxPayloadBytes: 0         # <- range
models:
  m:
    runtime: onnx
    path: m.onnx
    workers: 17              # <- range
    placement: gpu           # <- not one of auto, inline, workers
pipelines:
  - name: p
    subscribe: in/+/ev
    publish: out/{1}
    model: m
    budgetMs: 200
    fallback: review
    input: { fields: [a] }
    decide: { threshold: { bands: [{ min: 0.5, decision: reject }], otherwise: accept } }
  - name: q
    subscribe: sensors/#/temp  # <- '#' not last
    publish: out/{3}           # <- more captures than wildcards (not checked: subscribe is invalid) and sorted
    model: missing             # <- no such model
    budgetMs: 900000           # <- range
    fallback: review
    input: { fields: [a] }
    decide: { threshold: { bands: [{ min: 0.2, decision: review }, { min: 0.9, decision: reject }], otherwise: accept } }
`;

t.test('a file with many mistakes across sections: every one is listed with its path', async (t) => {
  const dir = t.testdir({ 'bad.yaml': BAD_YAML });
  const error = thrown(() => loadConfig(join(dir, 'bad.yaml'), { env: noEnv }));
  t.ok(error instanceof ConfigError);
  t.equal((error as ConfigError).code, ErrorCodes.CONFIG_INVALID);
  const problems = [...(error as ConfigError).problems];
  expectProblems(t, problems, [
    ['gateway.id', /must match \[A-Za-z0-9_-\]\+/],
    ['mqtt.url', /scheme must be one of/],
    ['mqtt.protocolVersion', /^must be 4 or 5$/],
    ['mqtt.keepAliveSec', /unknown key \(did you mean 'keepaliveSec'\?\)/],
    ['mqtt.sessionExpirySec', /between 1 and 4294967295/],
    ['broker.embedded.port', /between 0 and 65535/],
    ['limits.maxPayloadBytes', /between 1 and 16777216/],
    ['models.m.workers', /between 1 and 16/],
    ['models.m.placement', /must be one of/],
    ['pipelines[1].subscribe', /'#' must be the last/],
    ['pipelines[1].model', /names no model/],
    ['pipelines[1].budgetMs', /^must be an integer between 1 and 600000$/],
    ['pipelines[1].decide.threshold.bands[1].min', /sorted by min, highest first/],
  ]);
  t.match((error as ConfigError).message, /13 problems/);
  t.equal(problems[0]!.path, 'gateway.id', 'listed in file order');
  t.equal(problems.at(-1)!.path.startsWith('pipelines[1]'), true);
});

t.test('the same mistakes in a JSON file', async (t) => {
  const bad = configDocument({
    mqtt: { protocolVersion: '5', keepaliveSec: 0, tls: { cert: 'c.pem' }, extra: true },
    log: { level: 'verbose' },
    pipelines: [
      configPipeline({ budgetMs: 0, publish: 'out/+' }),
      configPipeline({ name: 'p', subscribe: 'other/+' }),
    ],
    telemetry: { enabled: true },
  });
  const dir = t.testdir({ 'bad.json': JSON.stringify(bad, null, 2) });
  const problems = configProblems(() => loadConfig(join(dir, 'bad.json'), { env: noEnv }));
  expectProblems(t, problems, [
    ['telemetry', /^unknown key$/],
    ['mqtt.keepaliveSec', /between 1 and 3600/],
    ['mqtt.extra', /unknown key/],
    ['mqtt.tls.key', /cert and mqtt.tls.key must be given together/],
    ['mqtt.tls', /not mqtts/],
    ['log.level', /must be one of: fatal, error, warn, info, debug, trace/],
    ['pipelines[0].budgetMs', /between 1 and 600000/],
    ['pipelines[0].publish', /wildcard/],
    ['pipelines[1].name', /duplicates pipelines\[0\].name 'p'/],
  ]);
});

t.test('unknown keys are reported at every depth, with their path', async (t) => {
  const problems = configProblems(() =>
    configFromObject(
      configDocument({
        gatway: { id: 'x' },
        mqtt: { reconnect: { minMs: 100, maxMS: 200 } },
        broker: { embedded: { enabled: false, bind: '0.0.0.0' } },
        models: { m: { runtime: 'onnx', path: '/m.onnx', thread: 2 } },
        pipelines: [
          configPipeline({
            budget: 1,
            input: { fields: [{ path: 'a', dflt: 1 }], extra: 1 },
            decide: { threshold: { bands: [{ min: 0.5, decision: 'reject', max: 1 }], otherwise: 'accept' } },
          }),
        ],
      }),
      { env: noEnv },
    ),
  );
  expectProblems(t, problems, [
    ['gatway', /unknown key \(did you mean 'gateway'\?\)/],
    ['mqtt.reconnect.maxMS', /unknown key \(did you mean 'maxMs'\?\)/],
    ['broker.embedded.bind', /unknown key/],
    ['models.m.thread', /unknown key \(did you mean 'threads'\?\)/],
    ['pipelines[0].budget', /unknown key \(did you mean 'budgetMs'\?\)/],
    ['pipelines[0].input.extra', /unknown key/],
    ['pipelines[0].input.fields[0].dflt', /unknown key/],
    ['pipelines[0].decide.threshold.bands[0].max', /unknown key/],
  ]);
});

t.test('required keys', async (t) => {
  const problems = configProblems(() =>
    configFromObject({ models: { m: {} }, pipelines: [{}] }, { env: noEnv }),
  );
  expectProblems(t, problems, [
    ['gateway.id', /is required/],
    ['models.m.runtime', /is required/],
    ['models.m.path', /is required/],
    ['pipelines[0].name', /is required/],
    ['pipelines[0].subscribe', /is required/],
    ['pipelines[0].publish', /is required/],
    ['pipelines[0].model', /is required/],
    ['pipelines[0].input', /is required/],
    ['pipelines[0].decide', /is required/],
    ['pipelines[0].budgetMs', /is required/],
    ['pipelines[0].fallback', /is required/],
  ]);
});

t.test('input field and decision rule mistakes', async (t) => {
  const problems = configProblems(() =>
    configFromObject(
      configDocument({
        pipelines: [
          configPipeline({
            input: {
              fields: [
                '',
                'a..b',
                '__proto__.x',
                42,
                { path: 'c', default: 'zero' },
                { path: 'd', type: 'boolean', default: 1 },
                { path: 'e', oneHot: [] },
                { path: 'f', oneHot: ['x', 'y'], default: 'z' },
                { path: 'g', oneHot: ['x'], type: 'number' },
              ],
            },
            decide: {
              argmax: {
                labels: ['ok', 'ok'],
                decisions: { ok: 'accept' },
                minConfidence: 1.5,
              },
            },
          }),
          configPipeline({
            name: 'q',
            subscribe: 'q/+',
            publish: 'q-out/{1}',
            decide: { threshold: { output: -1, bands: [], otherwise: '' } },
          }),
          configPipeline({
            name: 'r',
            subscribe: 'r/+',
            publish: 'r-out/{1}',
            decide: { argmax: {}, threshold: {} },
          }),
          configPipeline({
            name: 's',
            subscribe: 's/+',
            publish: 's-out/{1}',
            decide: { argmax: { labels: ['a', 'b'], decisions: { c: 'reject' } } },
          }),
        ],
      }),
      { env: noEnv },
    ),
  );
  expectProblems(t, problems, [
    ['pipelines[0].input.fields[0]', /must not be empty/],
    ['pipelines[0].input.fields[1]', /dotted path/],
    ['pipelines[0].input.fields[2]', /__proto__/],
    ['pipelines[0].input.fields[3]', /must be a field path, or a mapping/],
    ['pipelines[0].input.fields[4].default', /finite number/],
    ['pipelines[0].input.fields[5].default', /true or false/],
    ['pipelines[0].input.fields[6].oneHot', /list of 1 to/],
    ['pipelines[0].input.fields[7].default', /one of the oneHot values/],
    ['pipelines[0].input.fields[8].type', /not be given together with oneHot/],
    ['pipelines[0].decide.argmax.labels[1]', /duplicates 'ok'/],
    ['pipelines[0].decide.argmax.minConfidence', /between 0 and 1/],
    ['pipelines[1].decide.threshold.output', /between 0 and 65535/],
    ['pipelines[1].decide.threshold.bands', /list of 1 to/],
    ['pipelines[1].decide.threshold.otherwise', /must not be empty/],
    ['pipelines[2].decide', /exactly one of threshold or argmax/],
    ['pipelines[3].decide.argmax.decisions.c', /is not one of the labels \(a, b\)/],
  ]);
});

t.test('topic checks: filters, templates, response topics, loops', async (t) => {
  const problems = configProblems(() =>
    configFromObject(
      configDocument({
        pipelines: [
          configPipeline({ subscribe: '$share//in/+', publish: 'x/{1}' }),
          configPipeline({ name: 'b', subscribe: 'b/+/ev', publish: 'b-out/{1}/{2}' }),
          configPipeline({ name: 'c', subscribe: 'c/#', publish: 'c/{1}/decision' }),
          configPipeline({ name: 'd', subscribe: 'infergate/+/status', publish: 'd-out' }),
          configPipeline({
            name: 'e',
            subscribe: 'e/+',
            publish: 'e-out/{1}',
            responseTopics: ['e/#', '$share/g/x', 'a/#/b'],
          }),
          configPipeline({ name: 'f', subscribe: 'e/f', publish: 'f-out' }),
        ],
      }),
      { env: noEnv },
    ),
  );
  expectProblems(t, problems, [
    ['pipelines[0].subscribe', /group name/],
    ['pipelines[1].publish', /uses \{2\} but the subscription has only 1 wildcard/],
    ['pipelines[2].publish', /consume its own decisions/],
    ['pipelines[3].subscribe', /gateway's own topic infergate\/gw-1\/status/],
    [
      'pipelines[4].responseTopics[0]',
      /can match pipelines\[4\].subscribe: the gateway would consume its own/,
    ],
    ['pipelines[4].responseTopics[0]', /can match pipelines\[5\].subscribe/],
    ['pipelines[4].responseTopics[1]', /must not start with '\$'/],
    ['pipelines[4].responseTopics[2]', /'#' must be the last/],
    ['pipelines[5].subscribe', /overlaps pipelines\[4\].subscribe/],
  ]);
});

t.test('cross-section rules', async (t) => {
  const problems = configProblems(() =>
    configFromObject(
      configDocument({
        mqtt: { protocolVersion: 5, reconnect: { minMs: 5000, maxMs: 1000 } },
        broker: { embedded: { enabled: true } },
        pipelines: [configPipeline({ subscribe: '$share/g/in/+/ev' })],
      }),
      { env: noEnv },
    ),
  );
  expectProblems(t, problems, [
    ['mqtt.protocolVersion', /must be 4 with the embedded broker/],
    ['mqtt.reconnect.minMs', /must not exceed mqtt.reconnect.maxMs/],
    ['pipelines[0].subscribe', /no shared subscriptions/],
  ]);
  const v4 = configProblems(() =>
    configFromObject(configDocument({ mqtt: { protocolVersion: 4, passwordFile: '/dev/null' } }), {
      env: noEnv,
    }),
  );
  t.ok(v4.some((p) => p.path === 'mqtt.username' && /3\.1\.1/.test(p.message)));
});

t.test(
  'the password file: unreadable or empty is a problem like the others, content never shown',
  async (t) => {
    const dir = t.testdir({ empty: '\n', big: 'x'.repeat(70 * 1024), secret: 'p4ssw0rd' });
    const missing = configProblems(() =>
      configFromObject(
        configDocument({ mqtt: { username: 'u', passwordFile: 'nope' }, log: { level: 'x' } }),
        {
          baseDir: dir,
          env: noEnv,
        },
      ),
    );
    expectProblems(t, missing, [
      ['mqtt.passwordFile', /cannot read .*nope: no such file/],
      ['log.level', /must be one of/],
    ]);
    t.match(
      configProblems(() =>
        configFromObject(configDocument({ mqtt: { passwordFile: 'empty' } }), { baseDir: dir, env: noEnv }),
      ),
      [{ path: 'mqtt.passwordFile', message: /is empty/ }],
    );
    t.match(
      configProblems(() =>
        configFromObject(configDocument({ mqtt: { passwordFile: 'big' } }), { baseDir: dir, env: noEnv }),
      ),
      [{ path: 'mqtt.passwordFile', message: /larger than/ }],
    );
    if (process.getuid?.() !== 0) {
      chmodSync(join(dir, 'secret'), 0o000);
      t.match(
        configProblems(() =>
          configFromObject(configDocument({ mqtt: { passwordFile: 'secret' } }), {
            baseDir: dir,
            env: noEnv,
          }),
        ),
        [{ path: 'mqtt.passwordFile', message: /permission denied/ }],
      );
      chmodSync(join(dir, 'secret'), 0o600);
    }
    const other = thrown(() =>
      configFromObject(configDocument({ mqtt: { passwordFile: 'secret' }, log: { level: 'loud' } }), {
        baseDir: dir,
        env: noEnv,
      }),
    );
    t.notMatch((other as Error).message, /p4ssw0rd/);
    t.notMatch(JSON.stringify((other as ConfigError).problems), /p4ssw0rd/);
  },
);

t.test('the URL is never echoed (it may carry credentials)', async (t) => {
  const problems = configProblems(() =>
    configFromObject(configDocument({ mqtt: { url: 'mqtt://admin:hunter2@broker:1883' } }), { env: noEnv }),
  );
  t.match(problems, [{ path: 'mqtt.url', message: /must not contain credentials/ }]);
  t.notMatch(JSON.stringify(problems), /hunter2/);
  for (const url of [
    'broker:1883',
    'ws://broker',
    'tcp://10.0.0.1:1883',
    'ssl://b',
    'mqtt://',
    'unix://host/sock',
    'unix:///',
    'mqtt://b:1883/path',
  ]) {
    const found = configProblems(() => configFromObject(configDocument({ mqtt: { url } }), { env: noEnv }));
    t.equal(found[0]?.path, 'mqtt.url', url);
  }
  for (const url of ['mqtt://b', 'mqtts://b:8883', 'unix:///run/mosquitto/mqtt.sock', 'mqtt://[::1]:1883']) {
    t.doesNotThrow(() => configFromObject(configDocument({ mqtt: { url } }), { env: noEnv }), url);
  }
});

t.test('files that cannot be read or parsed: InfergateError IG_ERR_CONFIG_READ', async (t) => {
  const dir = t.testdir({
    'syntax.yaml': 'gateway:\n  id: a\n id: b\n  - nope\n',
    'dup.yaml': 'gateway: { id: a }\ngateway: { id: b }\n',
    'syntax.json': '{ "gateway": ',
    'config.toml': 'x = 1',
    'latin1.yaml': Buffer.from([0x67, 0x3a, 0x20, 0xe9, 0x0a]),
    'folder.yaml': {},
  });
  for (const [name, reason] of [
    ['missing.yaml', /no such file/],
    ['syntax.yaml', /not valid YAML:\n {2}line \d+, column \d+: /],
    ['dup.yaml', /not valid YAML:[\s\S]*line 2, column 1/],
    ['syntax.json', /not valid JSON/],
    ['config.toml', /unsupported file type '\.toml'/],
    ['latin1.yaml', /not valid UTF-8/],
    ['folder.yaml', /is a directory/],
  ] as const) {
    const error = thrown(() => loadConfig(join(dir, name), { env: noEnv }));
    t.ok(error instanceof InfergateError && !(error instanceof ConfigError), `${name}: InfergateError`);
    t.match(error, { code: ErrorCodes.CONFIG_READ, retryable: false, message: reason }, name);
    t.match((error as Error).message, join(dir, name), `${name}: message names the file`);
  }
  writeFileSync(join(dir, 'huge.yaml'), '#'.repeat(1024 * 1024 + 1));
  t.match(
    thrown(() => loadConfig(join(dir, 'huge.yaml'))),
    { code: ErrorCodes.CONFIG_READ, message: /larger than/ },
  );
});

t.test('a document that is not a mapping', async (t) => {
  t.match(
    configProblems(() => configFromObject(['a'], { env: noEnv })),
    [{ path: '(root)', message: /must be a mapping of sections/ }],
  );
  t.match(
    configProblems(() => configFromObject(configDocument({ mqtt: 'mqtt://x' }), { env: noEnv })),
    [{ path: 'mqtt', message: /must be a mapping/ }],
  );
  t.match(
    configProblems(() => configFromObject(configDocument({ mqtt: { url: { host: 'x' } } }), { env: noEnv })),
    [{ path: 'mqtt.url', message: /must be a URL/ }],
  );
  t.match(
    configProblems(() => configFromObject(configDocument({ pipelines: { p: {} } }), { env: noEnv })),
    [{ path: 'pipelines', message: /must be a list/ }],
  );
  const empty = t.testdir({ 'empty.yaml': '# nothing yet\n' });
  t.match(
    configProblems(() => loadConfig(join(empty, 'empty.yaml'), { env: noEnv })),
    [{ path: 'gateway.id', message: /is required/ }],
  );
});
