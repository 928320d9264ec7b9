import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { configFromObject, loadConfig } from '../config/load-config.js';
import { configDocument } from './helpers/config-document.js';
import { packageRoot } from './helpers/gateway-process.js';

const defaultYaml = join(packageRoot, 'config', 'default.yaml');
const mosquittoYaml = join(packageRoot, 'config', 'examples', 'mosquitto.yaml');
const noEnv = {};

/** The model path is relative: these tests check what it resolves against. */
function minimal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return configDocument({ models: { m: { runtime: 'onnx', path: 'models/m.onnx' } }, ...overrides });
}

t.test('config/default.yaml loads with its two pipelines', async (t) => {
  const config = loadConfig(defaultYaml, { env: noEnv });
  t.equal(config.source, defaultYaml);
  t.equal(config.gateway.id, 'gw-local');
  t.same(
    config.pipelines.map((p) => p.name),
    ['atm-risk', 'inspection'],
  );
  t.same(Object.keys(config.models), ['atm-risk', 'inspection']);
  t.equal(config.broker.embedded.enabled, true);
  t.equal(config.mqtt.protocolVersion, 4, 'the embedded broker speaks 3.1.1');
  t.equal(config.mqtt.clientId, 'infergate-gw-local');
  t.equal(
    config.models['atm-risk']!.path,
    join(packageRoot, 'models', 'atm-risk.onnx'),
    'resolved from config/',
  );
  t.equal(config.state.dir, join(packageRoot, 'state'));

  const atm = config.pipelines[0]!;
  t.same(atm.input!.fields[1], {
    kind: 'oneHot',
    path: 'currency',
    values: ['domestic', 'foreign_eea', 'foreign_other'],
    default: null,
  });
  t.same(atm.input!.fields[4], { kind: 'boolean', path: 'cardPresent', default: null });
  t.same(atm.input!.fields[10], { kind: 'number', path: 'pinTries', default: 0 });
  t.same(atm.decide, {
    kind: 'threshold',
    output: 0,
    bands: [
      { min: 0.8, decision: 'reject' },
      { min: 0.4, decision: 'review' },
    ],
    otherwise: 'accept',
  });
  t.same(config.pipelines[1]!.decide, {
    kind: 'argmax',
    labels: ['ok', 'dimensional', 'thermal', 'vibration'],
    decisions: { ok: 'accept', dimensional: 'reject', thermal: 'reject', vibration: 'reject' },
    minConfidence: 0.6,
    lowConfidence: 'review',
  });
});

t.test('config/examples/mosquitto.yaml loads: external broker, MQTT 5', async (t) => {
  const config = loadConfig(mosquittoYaml, { env: noEnv });
  t.equal(config.broker.embedded.enabled, false);
  t.equal(config.mqtt.url, 'mqtt://127.0.0.1:1883');
  t.equal(config.mqtt.protocolVersion, 5);
  t.equal(config.mqtt.clientId, 'infergate-gw-line1');
  t.same(
    config.pipelines.map((p) => [p.name, p.subscribe, p.publish]),
    [
      ['atm-risk', 'atm/+/tx', 'atm/{1}/decision'],
      ['inspection', 'plant/+/+/part', 'plant/{1}/{2}/verdict'],
    ],
  );
  t.equal(config.models.inspection!.path, join(packageRoot, 'models', 'inspection.onnx'));
});

t.test('defaults are applied everywhere', async (t) => {
  const config = configFromObject(minimal(), { baseDir: '/srv/gw', env: noEnv });
  t.same(config.mqtt, {
    url: 'mqtt://127.0.0.1:1883',
    protocolVersion: 5,
    clientId: 'infergate-gw-1',
    keepaliveSec: 30,
    sessionExpirySec: 86400,
    receiveMaximum: 64,
    connectTimeoutMs: 10000,
    reconnect: { minMs: 500, maxMs: 30000 },
    tls: { ca: null, cert: null, key: null, rejectUnauthorized: true },
    username: null,
    passwordFile: null,
  });
  t.equal(config.mqtt.password, null);
  t.same(config.broker, { embedded: { enabled: false, host: '127.0.0.1', port: 1883 } });
  t.same(config.limits, { maxPayloadBytes: 65536, maxDepth: 32 });
  t.same(config.state, { dir: '/srv/gw/state', retentionHours: 168, synchronous: 'normal' });
  t.same(config.privacy, { keepInput: false, deadLetterPayload: false, allowPublicEndpoints: false });
  t.same(config.metrics, { enabled: true, host: '127.0.0.1', port: 9464, statusIntervalSec: 0 });
  t.same(config.log, { level: 'info' });
  t.equal(config.source, null);
  t.same(config.models.m, {
    name: 'm',
    runtime: 'onnx',
    path: '/srv/gw/models/m.onnx',
    sha256: null,
    threads: 1,
    workers: 1,
    placement: 'auto',
    maxBatch: 32,
    llama: null,
  });
  const pipeline = config.pipelines[0]!;
  t.same(pipeline.responseTopics, []);
  t.equal(pipeline.decoder, 'json');
  t.equal(pipeline.maxQueue, 1024);
  t.equal(pipeline.maxEventAgeMs, 60000);
  t.same(pipeline.input, { tensor: null, fields: [{ kind: 'number', path: 'a', default: null }] });
});

t.test('argmax defaults: labels from the model card, lowConfidence = fallback', async (t) => {
  const document = minimal();
  (document.pipelines as Record<string, unknown>[])[0]!.decide = { argmax: {} };
  const config = configFromObject(document, { env: noEnv });
  t.same(config.pipelines[0]!.decide, {
    kind: 'argmax',
    labels: null,
    decisions: {},
    minConfidence: 0,
    lowConfidence: 'review',
  });
});

t.test('state.dir defaults to $STATE_DIRECTORY under systemd', async (t) => {
  const env = { STATE_DIRECTORY: '/var/lib/infergate:/var/lib/other' };
  t.equal(configFromObject(minimal(), { env }).state.dir, '/var/lib/infergate');
  const explicit = configFromObject(minimal({ state: { dir: '/data/ig' } }), { env });
  t.equal(explicit.state.dir, '/data/ig', 'the config file wins over the default');
});

t.test('relative paths resolve against the config file directory, not the cwd', async (t) => {
  const dir = t.testdir({
    etc: {
      'mqtt-password': 's3cret\n',
      'config.yaml': [
        'gateway: { id: gw-rel }',
        'mqtt:',
        '  url: mqtts://broker.local:8883',
        '  username: infergate',
        '  passwordFile: mqtt-password',
        '  tls: { ca: tls/ca.pem, cert: tls/c.pem, key: /abs/c.key }',
        'state: { dir: ../var/state }',
        'models: { m: { runtime: onnx, path: ./m.onnx, sha256: ' + 'AB'.repeat(32) + ' } }',
        'pipelines: []',
      ].join('\n'),
    },
  });
  const config = loadConfig(join(dir, 'etc', 'config.yaml'), { env: noEnv });
  t.equal(config.mqtt.passwordFile, join(dir, 'etc', 'mqtt-password'));
  t.equal(config.mqtt.password, 's3cret', 'one trailing newline trimmed');
  t.equal(config.mqtt.tls.ca, join(dir, 'etc', 'tls', 'ca.pem'));
  t.equal(config.mqtt.tls.cert, join(dir, 'etc', 'tls', 'c.pem'));
  t.equal(config.mqtt.tls.key, '/abs/c.key', 'absolute paths are kept');
  t.equal(config.state.dir, join(dir, 'var', 'state'));
  t.equal(config.models.m!.path, join(dir, 'etc', 'm.onnx'));
  t.equal(config.models.m!.sha256, 'ab'.repeat(32), 'sha256 normalised to lower case');
});

t.test('the password stays out of serialised config', async (t) => {
  const dir = t.testdir({ pw: 'hunter2\r\n' });
  const config = configFromObject(minimal({ mqtt: { username: 'u', passwordFile: 'pw' } }), {
    baseDir: dir,
    env: noEnv,
  });
  t.equal(config.mqtt.password, 'hunter2', 'CRLF trimmed');
  t.notMatch(JSON.stringify(config), /hunter2/);
  t.notOk(Object.keys(config.mqtt).includes('password'));
});

t.test('the result is deep-frozen and does not share objects with the input', async (t) => {
  const document = minimal();
  const config = configFromObject(document, { env: noEnv });
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.mqtt.reconnect));
  t.ok(Object.isFrozen(config.models.m));
  t.ok(Object.isFrozen(config.pipelines));
  t.ok(Object.isFrozen(config.pipelines[0]!.input!.fields[0]));
  t.ok(Object.isFrozen(config.pipelines[0]!.decide));
  t.throws(() => {
    (config.gateway as { id: string }).id = 'x';
  }, TypeError);
  t.notOk(Object.isFrozen(document.pipelines), 'the caller keeps a mutable document');
});

t.test('JSON files load like YAML', async (t) => {
  const dir = t.testdir({ 'gw.json': JSON.stringify(minimal()) });
  const config = loadConfig(join(dir, 'gw.json'), { env: noEnv });
  t.equal(config.pipelines[0]!.name, 'p');
  t.equal(config.models.m!.path, join(dir, 'models', 'm.onnx'));
});

t.test('a $share subscription keeps its prefix and counts wildcards of the inner filter', async (t) => {
  const document = minimal();
  const pipeline = (document.pipelines as Record<string, unknown>[])[0]!;
  pipeline.subscribe = '$share/gws/in/+/ev';
  const config = configFromObject(document, { env: noEnv });
  t.equal(config.pipelines[0]!.subscribe, '$share/gws/in/+/ev');
});

t.test('default.yaml copied elsewhere still resolves next to itself', async (t) => {
  const dir = t.testdir({});
  const copy = join(dir, 'copy.yml');
  copyFileSync(defaultYaml, copy);
  t.equal(loadConfig(copy, { env: noEnv }).models['atm-risk']!.path, resolve(dir, '../models/atm-risk.onnx'));
});
