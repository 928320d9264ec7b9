import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configFromObject, loadConfig } from '../config/load-config.js';
import { environmentVariables } from '../config/schema.js';
import { configProblems } from './helpers/config-problems.js';
import { packageRoot } from './helpers/gateway-process.js';

const defaultYaml = join(packageRoot, 'config', 'default.yaml');

t.test('INFERGATE_* variables win over the file', async (t) => {
  const dir = t.testdir({ pw: 'from-file\n' });
  const env = {
    INFERGATE_GATEWAY_ID: 'gw-7',
    INFERGATE_MQTT_URL: 'mqtts://broker.plant:8883',
    INFERGATE_MQTT_PROTOCOL_VERSION: '4',
    INFERGATE_MQTT_KEEPALIVE_SEC: '15',
    INFERGATE_MQTT_SESSION_EXPIRY_SEC: '4294967295',
    INFERGATE_MQTT_RECEIVE_MAXIMUM: '10',
    INFERGATE_MQTT_CONNECT_TIMEOUT_MS: '2500',
    INFERGATE_MQTT_RECONNECT_MIN_MS: '100',
    INFERGATE_MQTT_RECONNECT_MAX_MS: '900',
    INFERGATE_MQTT_TLS_CA: '/etc/ssl/ca.pem',
    INFERGATE_MQTT_TLS_CERT: 'c.pem',
    INFERGATE_MQTT_TLS_KEY: 'c.key',
    INFERGATE_MQTT_TLS_REJECT_UNAUTHORIZED: 'false',
    INFERGATE_MQTT_USERNAME: 'gw',
    INFERGATE_MQTT_PASSWORD_FILE: join(dir, 'pw'),
    INFERGATE_BROKER_EMBEDDED_ENABLED: 'false',
    INFERGATE_BROKER_EMBEDDED_HOST: '0.0.0.0',
    INFERGATE_BROKER_EMBEDDED_PORT: '0',
    INFERGATE_LIMITS_MAX_PAYLOAD_BYTES: '1024',
    INFERGATE_LIMITS_MAX_DEPTH: '8',
    INFERGATE_STATE_DIR: '/var/lib/ig',
    INFERGATE_STATE_RETENTION_HOURS: '24',
    INFERGATE_STATE_SYNCHRONOUS: 'full',
    INFERGATE_PRIVACY_KEEP_INPUT: 'true',
    INFERGATE_PRIVACY_DEAD_LETTER_PAYLOAD: 'yes',
    INFERGATE_PRIVACY_ALLOW_PUBLIC_ENDPOINTS: 'on',
    INFERGATE_LOG_LEVEL: 'debug',
    INFERGATE_METRICS_ENABLED: 'false',
    INFERGATE_METRICS_HOST: '::1',
    INFERGATE_METRICS_PORT: '0',
    INFERGATE_METRICS_STATUS_INTERVAL_SEC: '60',
  };
  const config = loadConfig(defaultYaml, { env });
  t.equal(config.gateway.id, 'gw-7');
  t.equal(config.mqtt.clientId, 'infergate-gw-7', 'the derived client id follows the overridden gateway id');
  t.equal(config.mqtt.url, 'mqtts://broker.plant:8883');
  t.equal(config.mqtt.protocolVersion, 4);
  t.equal(config.mqtt.keepaliveSec, 15);
  t.equal(config.mqtt.sessionExpirySec, 4294967295);
  t.equal(config.mqtt.receiveMaximum, 10);
  t.equal(config.mqtt.connectTimeoutMs, 2500);
  t.same(config.mqtt.reconnect, { minMs: 100, maxMs: 900 });
  t.same(config.mqtt.tls, {
    ca: '/etc/ssl/ca.pem',
    cert: join(packageRoot, 'config', 'c.pem'),
    key: join(packageRoot, 'config', 'c.key'),
    rejectUnauthorized: false,
  });
  t.equal(config.mqtt.username, 'gw');
  t.equal(config.mqtt.password, 'from-file');
  t.same(config.broker.embedded, { enabled: false, host: '0.0.0.0', port: 0 });
  t.same(config.limits, { maxPayloadBytes: 1024, maxDepth: 8 });
  t.same(config.state, { dir: '/var/lib/ig', retentionHours: 24, synchronous: 'full' });
  t.same(config.privacy, { keepInput: true, deadLetterPayload: true, allowPublicEndpoints: true });
  t.same(config.log, { level: 'debug' });
  t.same(config.metrics, { enabled: false, host: '::1', port: 0, statusIntervalSec: 60 });
  t.equal(config.pipelines.length, 2, 'models and pipelines come from the file only');
});

t.test('an explicit client id in the environment wins over the derived one', async (t) => {
  const config = loadConfig(defaultYaml, {
    env: { INFERGATE_GATEWAY_ID: 'gw-8', INFERGATE_MQTT_CLIENT_ID: 'edge-8' },
  });
  t.equal(config.mqtt.clientId, 'edge-8');
});

t.test('an empty variable clears an optional key', async (t) => {
  const document = {
    gateway: { id: 'gw' },
    mqtt: { username: 'from-file', tls: { ca: '/ca.pem' }, url: 'mqtts://b' },
  };
  const config = configFromObject(document, {
    env: { INFERGATE_MQTT_USERNAME: '', INFERGATE_MQTT_TLS_CA: '' },
  });
  t.equal(config.mqtt.username, null);
  t.equal(config.mqtt.tls.ca, null);
});

t.test('bad values from the environment are reported with the variable name', async (t) => {
  const problems = configProblems(() =>
    loadConfig(defaultYaml, {
      env: {
        INFERGATE_MQTT_PROTOCOL_VERSION: '5.0.1',
        INFERGATE_MQTT_KEEPALIVE_SEC: '12abc',
        INFERGATE_PRIVACY_KEEP_INPUT: 'nope',
        INFERGATE_LOG_LEVEL: 'loud',
        INFERGATE_GATEWAY_ID: 'gw/1',
      },
    }),
  );
  t.match(problems, [
    { path: 'gateway.id', message: /\(from INFERGATE_GATEWAY_ID\)$/ },
    { path: 'mqtt.protocolVersion', message: /^must be 4 or 5 \(from INFERGATE_MQTT_PROTOCOL_VERSION\)$/ },
    { path: 'mqtt.keepaliveSec', message: /integer .*\(from INFERGATE_MQTT_KEEPALIVE_SEC\)$/ },
    { path: 'privacy.keepInput', message: /true or false \(from INFERGATE_PRIVACY_KEEP_INPUT\)$/ },
    { path: 'log.level', message: /\(from INFERGATE_LOG_LEVEL\)$/ },
  ]);
  t.equal(problems.length, 5);
});

t.test('the environment defaults to process.env', async (t) => {
  const saved = process.env.INFERGATE_LOG_LEVEL;
  process.env.INFERGATE_LOG_LEVEL = 'warn';
  t.teardown(() => {
    if (saved === undefined) delete process.env.INFERGATE_LOG_LEVEL;
    else process.env.INFERGATE_LOG_LEVEL = saved;
  });
  t.equal(loadConfig(defaultYaml).log.level, 'warn');
});

t.test('every scalar key has its INFERGATE_* variable, and docs/config.md lists each one', async (t) => {
  const variables = environmentVariables();
  const docs = readFileSync(join(packageRoot, 'docs', 'config.md'), 'utf8');
  for (const { env, path } of variables) {
    const expected = `INFERGATE_${path
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()}`;
    t.equal(env, expected, `${path} ↔ ${env}`);
    t.ok(docs.includes(env), `${env} is documented`);
    t.ok(docs.includes(`\`${path}\``), `${path} is documented`);
  }
  t.equal(new Set(variables.map((v) => v.env)).size, variables.length, 'no variable is used twice');
});
