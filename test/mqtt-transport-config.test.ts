/**
 * What the transport refuses before any I/O: invalid config (factory), and topics that would get the
 * client disconnected and then replayed by MQTT.js on every reconnect (publish).
 */
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import type { MqttConfig } from '../daemon/config.js';
import { configProblems } from './helpers/config-problems.js';
import { memoryLogger, mqttConfig } from './helpers/mqtt-fixtures.js';

const logger = memoryLogger().logger;
const statusTopic = 'infergate/config/status';

/** The paths of the problems the factory reports. */
function problemsOf(overrides: Partial<MqttConfig>, status = statusTopic): string[] {
  const config = mqttConfig({ url: 'mqtt://127.0.0.1:1', ...overrides });
  return configProblems(() => createMqttTransport({ logger, config, statusTopic: status })).map(
    (p) => p.path,
  );
}

t.test('accepted URLs', async (t) => {
  for (const url of [
    'mqtt://broker.local',
    'mqtt://127.0.0.1:1883',
    'mqtts://[::1]:8883',
    'unix:///run/mosquitto/mqtt.sock',
  ]) {
    t.same(problemsOf({ url }), [], url);
  }
});

t.test('refused configs, each naming its key', async (t) => {
  t.same(problemsOf({ url: 'http://x' }), ['mqtt.url'], 'unsupported scheme');
  t.same(problemsOf({ url: 'broker:1883' }), ['mqtt.url'], 'not a URL with a known scheme');
  t.same(problemsOf({ url: 'mqtt://user:secret@host' }), ['mqtt.url'], 'credentials in the URL');
  t.same(problemsOf({ url: 'unix://' }), ['mqtt.url'], 'unix without a path');
  t.same(problemsOf({ clientId: '' }), ['mqtt.clientId']);
  t.same(problemsOf({ receiveMaximum: 0 }), ['mqtt.receiveMaximum']);
  t.same(problemsOf({ keepaliveSec: 70_000 }), ['mqtt.keepaliveSec']);
  t.same(problemsOf({ reconnect: { minMs: 500, maxMs: 100 } }), ['mqtt.reconnect.maxMs']);
  t.same(
    problemsOf({
      url: 'mqtts://host',
      tls: { ca: null, cert: '/c.pem', key: null, rejectUnauthorized: true },
    }),
    ['mqtt.tls'],
    'cert without key',
  );
  t.same(
    problemsOf({ tls: { ca: '/ca.pem', cert: null, key: null, rejectUnauthorized: true } }),
    ['mqtt.tls'],
    'TLS files on mqtt://',
  );
  t.same(problemsOf({ protocolVersion: 4, password: 'x', username: null }), ['mqtt.username']);
  t.same(problemsOf({}, 'infergate/+/status'), ['gateway.id'], 'wildcard status topic');
});

t.test('publish refuses topics the broker would disconnect us for', async (t) => {
  const transport = createMqttTransport({
    logger,
    config: mqttConfig({ url: 'mqtt://127.0.0.1:1' }),
    statusTopic,
  });
  for (const topic of ['a/+/b', 'a/#', 'a\u0000b', '']) {
    await t.rejects(
      transport.publish(topic, 'x', { qos: 1 }),
      { code: 'IG_ERR_TOPIC_INVALID' },
      JSON.stringify(topic),
    );
  }
  await t.rejects(
    transport.publish('a/b', 'x', { qos: 1 }),
    { code: 'IG_ERR_MQTT_NOT_CONNECTED' },
    'not started: refused, not queued',
  );
  await transport.stop();
  await transport.stop();
  t.equal(transport.state, 'stopped');
  await t.rejects(
    transport.start([], () => undefined),
    { code: 'IG_ERR_MQTT_CONNECT' },
    'no start after stop',
  );
});
