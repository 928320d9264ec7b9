/**
 * The embedded aedes broker: ephemeral port, MQTT 3.1.1 round trip, MQTT 5 refused with a clear log line,
 * idempotent stop, and a typed error when the port is taken.
 */
import net from 'node:net';
import t from 'tap';
import { createEmbeddedBroker } from '../adapters/mqtt/embedded-broker.js';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import { ConfigError } from '../daemon/errors.js';
import { memoryLogger, mqttConfig, transportRoundTrip, waitFor } from './helpers/mqtt-fixtures.js';
import { connectProbe } from './helpers/mqtt-probe.js';

const embedded = (port = 0) => ({ enabled: true, host: '127.0.0.1', port });

t.test('ephemeral port, 3.1.1 round trip, MQTT 5 refused and logged, idempotent stop', async (t) => {
  const log = memoryLogger();
  const broker = createEmbeddedBroker({ logger: log.logger, config: embedded() });
  t.equal(broker.port, 0, 'config port before start');
  t.teardown(() => broker.stop());
  const address = await broker.start();
  t.equal(address.host, '127.0.0.1');
  t.ok(address.port > 0, `bound to an ephemeral port (${address.port})`);
  t.equal(broker.port, address.port);
  t.same(await broker.start(), address, 'start() twice is the same start');
  const url = `mqtt://127.0.0.1:${address.port}`;

  const subscriber = await connectProbe(url, { protocolVersion: 4 });
  await subscriber.subscribe('demo/#');
  const publisher = await connectProbe(url, { protocolVersion: 4 });
  await publisher.publish('demo/1', 'hello', { qos: 1 });
  const [message] = await subscriber.waitForMessages('demo/#', 1, 2_000);
  t.equal(message?.payload.toString(), 'hello', 'QoS 1 round trip on 3.1.1');
  await publisher.end();

  await t.rejects(
    connectProbe(url, { protocolVersion: 5, clientId: 'wants-v5' }),
    /protocol version/i,
    'an MQTT 5 client is refused',
  );
  const refusal = log.find('refused an MQTT 5 client');
  t.equal(refusal.length, 1, 'the refusal is logged');
  t.equal(refusal[0]?.level, 40, 'at warn');
  t.equal(refusal[0]?.clientId, 'wants-v5', 'with the client id');
  t.match(refusal[0]?.msg, /3\.1\.1 only.*protocolVersion to 4/, 'saying what to do');

  // A subscriber still connected is closed by stop().
  const closed = new Promise<void>((resolve) => subscriber.client.once('close', () => resolve()));
  await broker.stop();
  await broker.stop();
  await closed;
  await subscriber.end();
  await t.rejects(
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: address.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', reject);
    }),
    { code: 'ECONNREFUSED' },
    'nothing listens after stop()',
  );
});

t.test('the gateway transport on the embedded broker: 3.1.1 works, 5 fails start() fast', async (t) => {
  const log = memoryLogger();
  const broker = createEmbeddedBroker({ logger: log.logger, config: embedded() });
  t.teardown(() => broker.stop());
  const { port } = await broker.start();
  const url = `mqtt://127.0.0.1:${port}`;

  const v5 = createMqttTransport({
    logger: log.logger,
    config: mqttConfig({ url, protocolVersion: 5, clientId: 'gw-v5' }),
    statusTopic: 'infergate/gw-v5/status',
  });
  t.teardown(() => v5.stop());
  await t.rejects(
    v5.start(['a/#'], () => undefined),
    { code: 'IG_ERR_MQTT_CONNECT', retryable: false, message: /does not speak MQTT 5/ },
    'config-level refusal ends start() instead of retrying forever',
  );
  t.equal(v5.state, 'stopped');

  const v4 = createMqttTransport({
    logger: log.logger,
    config: mqttConfig({ url, protocolVersion: 4, clientId: 'gw-v4' }),
    statusTopic: 'infergate/gw-v4/status',
  });
  t.equal(await transportRoundTrip(t, v4, 'a/#', 'a/b', 'loop'), 'loop', 'own publish back');
});

t.test('shared subscriptions are taken literally by aedes: warned', async (t) => {
  const log = memoryLogger();
  const broker = createEmbeddedBroker({ logger: log.logger, config: embedded() });
  t.teardown(() => broker.stop());
  const { port } = await broker.start();
  const probe = await connectProbe(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4 });
  t.teardown(() => probe.end());
  await probe.subscribe('$share/group/x/#');
  await waitFor(() => log.find('no shared subscriptions').length === 1, 'the warning');
  t.pass('warned');
});

t.test('port in use: BROKER_START with the address', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  const broker = createEmbeddedBroker({ logger: memoryLogger().logger, config: embedded(port) });
  await t.rejects(broker.start(), {
    code: 'IG_ERR_BROKER_START',
    message: new RegExp(`127\\.0\\.0\\.1:${port}.*EADDRINUSE`),
  });
  await broker.stop();
  await broker.stop();
});

t.test('invalid config is refused by the factory, before any I/O', async (t) => {
  t.throws(
    () => createEmbeddedBroker({ logger: memoryLogger().logger, config: embedded(70_000) }),
    ConfigError,
  );
  let error: unknown;
  try {
    createEmbeddedBroker({ logger: memoryLogger().logger, config: { enabled: true, host: '', port: 0 } });
  } catch (caught) {
    error = caught;
  }
  t.match(error, { code: 'IG_ERR_CONFIG_INVALID', problems: [{ path: 'broker.embedded.host' }] });
});
