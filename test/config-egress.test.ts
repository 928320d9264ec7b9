/**
 * The no-egress guard at config load, systemd credentials for the broker password, and the metrics
 * section: a broker or listen address outside loopback, link-local and private ranges is a config problem
 * (with its path, exit 78) unless privacy.allowPublicEndpoints is set.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configFromObject, loadConfig } from '../config/load-config.js';
import { hostScope } from '../config/host-scope.js';
import { configDocument } from './helpers/config-document.js';
import { configProblems, type ConfigProblem } from './helpers/config-problems.js';
import { cliPath, packageRoot, tempDir } from './helpers/gateway-process.js';

function problemsOf(doc: unknown, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  return configProblems(() => configFromObject(doc, { env }));
}

t.test('host scopes, by form only', async (t) => {
  const cases: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['localhost', 'loopback'],
    ['broker.localhost', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.10.5', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['broker.local', 'local-name'],
    ['Broker.LOCAL.', 'local-name'],
    ['mqtt.home.arpa', 'local-name'],
    ['broker.internal', 'local-name'],
    ['mosquitto', 'local-name'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['172.32.0.1', 'public'],
    ['100.64.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['broker.example.com', 'unverifiable'],
    ['10.1', 'unverifiable'],
    ['134744072', 'unverifiable'],
    ['0x7f000001', 'unverifiable'],
    ['bad_label-.local', 'unverifiable'],
  ];
  for (const [host, scope] of cases) t.equal(hostScope(host), scope, host);
});

t.test('a public broker address is refused, naming the key and the way out', async (t) => {
  for (const url of ['mqtt://8.8.8.8:1883', 'mqtts://[2606:4700:4700::1111]:8883', 'mqtt://100.64.1.2']) {
    const problems = problemsOf(configDocument({ mqtt: { url } }));
    t.equal(problems.length, 1, url);
    t.equal(problems[0]?.path, 'mqtt.url');
    t.match(
      problems[0]?.message,
      /outside loopback, link-local and private ranges.*privacy\.allowPublicEndpoints/,
    );
  }
  const named = problemsOf(configDocument({ mqtt: { url: 'mqtts://broker.example.com:8883' } }));
  t.match(named, [{ path: 'mqtt.url', message: /cannot be checked without a DNS lookup/ }]);
});

t.test('local brokers pass', async (t) => {
  for (const url of [
    'mqtt://127.0.0.1:1883',
    'mqtt://[::1]:1883',
    'mqtts://192.168.10.5:8883',
    'mqtt://10.0.0.7',
    'mqtt://[fd00::5]:1883',
    'mqtt://broker.local',
    'mqtt://mosquitto:1883',
    'mqtt://localhost',
    'unix:///run/mosquitto/mqtt.sock',
  ]) {
    t.same(problemsOf(configDocument({ mqtt: { url } })), [], url);
  }
});

t.test('listen addresses: metrics.host and broker.embedded.host', async (t) => {
  t.match(problemsOf(configDocument({ metrics: { host: '0.0.0.0' } })), [
    { path: 'metrics.host', message: /every interface/ },
  ]);
  t.match(problemsOf(configDocument({ metrics: { host: '203.0.113.7' } })), [{ path: 'metrics.host' }]);
  t.same(problemsOf(configDocument({ metrics: { host: '192.168.1.20' } })), [], 'a LAN address is fine');
  t.same(
    problemsOf(configDocument({ metrics: { enabled: false, host: '0.0.0.0' } })),
    [],
    'disabled: not checked',
  );
  t.match(
    problemsOf(
      configDocument({
        mqtt: { url: 'mqtt://127.0.0.1:1884', protocolVersion: 4 },
        broker: { embedded: { enabled: true, host: '::', port: 1884 } },
      }),
    ),
    [{ path: 'broker.embedded.host', message: /every interface/ }],
  );
});

t.test('privacy.allowPublicEndpoints lets all of them through', async (t) => {
  const doc = configDocument({
    mqtt: { url: 'mqtts://broker.example.com:8883' },
    metrics: { host: '0.0.0.0' },
    privacy: { allowPublicEndpoints: true },
  });
  t.same(problemsOf(doc), []);
  t.same(
    problemsOf(configDocument({ mqtt: { url: 'mqtt://8.8.8.8' } }), {
      INFERGATE_PRIVACY_ALLOW_PUBLIC_ENDPOINTS: 'true',
    }),
    [],
  );
});

t.test('check-config exits 78 and lists the egress problem with its path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'public.json');
  const doc = configDocument({
    mqtt: { url: 'mqtt://8.8.4.4:1883' },
    models: { m: { runtime: 'onnx', path: join(packageRoot, 'models', 'atm-risk.onnx') } },
  });
  writeFileSync(file, JSON.stringify(doc));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('INFERGATE_')),
  );
  const result = spawnSync(process.execPath, [cliPath, 'check-config', file], { encoding: 'utf8', env });
  t.equal(result.status, 78);
  t.match(result.stderr, /mqtt\.url: 8\.8\.4\.4 is outside loopback/);
});

t.test('the broker password from systemd credentials', async (t) => {
  const dir = tempDir(t);
  const credentials = join(dir, 'creds');
  mkdirSync(credentials);
  writeFileSync(join(credentials, 'mqtt-password'), 'from-credential\n');
  writeFileSync(join(dir, 'pw'), 'from-file\n');
  const env = { CREDENTIALS_DIRECTORY: credentials };
  const viaCredential = configFromObject(configDocument(), { env, baseDir: dir });
  t.equal(viaCredential.mqtt.password, 'from-credential');
  t.equal(viaCredential.mqtt.passwordFile, join(credentials, 'mqtt-password'));
  t.notOk(JSON.stringify(viaCredential).includes('from-credential'), 'the password is not serialised');
  const explicit = configFromObject(configDocument({ mqtt: { passwordFile: 'pw' } }), { env, baseDir: dir });
  t.equal(explicit.mqtt.password, 'from-file', 'an explicit passwordFile wins');
  t.equal(configFromObject(configDocument(), { env: {} }).mqtt.password, null, 'no credentials: no password');
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  t.equal(configFromObject(configDocument(), { env: { CREDENTIALS_DIRECTORY: empty } }).mqtt.password, null);
});

t.test('the gateway-box example loads', async (t) => {
  const config = loadConfig(join(packageRoot, 'config', 'examples', 'gateway-box.yaml'), {
    env: { STATE_DIRECTORY: '/var/lib/infergate/state' },
  });
  t.equal(config.state.dir, '/var/lib/infergate/state');
  t.equal(config.models['atm-risk']?.path, '/var/lib/infergate/models/atm-risk.onnx');
  t.same(config.metrics, { enabled: true, host: '127.0.0.1', port: 9464, statusIntervalSec: 0 });
  t.equal(config.privacy.allowPublicEndpoints, false);
});
