/**
 * `unix:///path` reaches a Mosquitto `listener 0 <path>`: no TCP, so a gateway in a network-less
 * namespace still talks to its local broker. A missing socket is retried like a down broker.
 */
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import type { InboundMessage } from '../daemon/ports.js';
import { memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe } from './helpers/mqtt-probe.js';

if (requireMosquitto(t)) {
  const broker = await startMosquitto({ unixSocket: true });
  t.teardown(() => broker.stop());

  for (const protocolVersion of [5, 4] as const) {
    t.test(
      `MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} over a Unix socket: events in, decisions out`,
      async (t) => {
        const log = memoryLogger();
        const transport = createMqttTransport({
          logger: log.logger,
          config: mqttConfig({
            url: `unix://${broker.socketPath!}`,
            protocolVersion,
            clientId: `unix-v${protocolVersion}`,
          }),
          statusTopic: `infergate/unix-v${protocolVersion}/status`,
        });
        const received: InboundMessage[] = [];
        t.teardown(() => transport.stop());
        await transport.start([`unix/v${protocolVersion}/in`], (message) => {
          received.push(message);
        });

        // The other side is on TCP: both listeners are the same broker.
        const probe = await connectProbe(broker.url, { protocolVersion });
        t.teardown(() => probe.end());
        await probe.subscribe(`unix/v${protocolVersion}/out`);
        await probe.publish(`unix/v${protocolVersion}/in`, 'event', {
          qos: 1,
          responseTopic: `unix/v${protocolVersion}/out`,
          correlationData: Buffer.from('corr-1'),
        });
        await waitFor(() => received.length === 1, 'the event over the socket');
        const event = received[0]!;
        t.equal(event.payload.toString(), 'event');
        if (protocolVersion === 5) {
          t.equal(event.responseTopic, 'unix/v5/out', 'response topic mapped');
          t.same(event.correlationData, Buffer.from('corr-1'), 'correlation data mapped');
        } else {
          t.equal(event.responseTopic, undefined, 'no properties on 3.1.1');
        }

        await transport.publish(event.responseTopic ?? `unix/v${protocolVersion}/out`, 'decision', {
          qos: 1,
          correlationData: event.correlationData ?? Buffer.from('ignored-on-3.1.1'),
        });
        const [reply] = await probe.waitForMessages(`unix/v${protocolVersion}/out`, 1, 2_000);
        t.equal(reply?.payload.toString(), 'decision');
        t.same(reply?.correlationData, protocolVersion === 5 ? Buffer.from('corr-1') : undefined);
      },
    );
  }

  t.test('a socket that does not exist yet is retried, not a config error', async (t) => {
    const log = memoryLogger();
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url: `unix://${broker.dir}/not-yet.sock`, clientId: 'unix-missing' }),
      statusTopic: 'infergate/unix-missing/status',
    });
    const starting = transport.start([], () => undefined);
    await waitFor(() => log.find('mqtt connect failed').length >= 2, 'two failed attempts');
    t.ok(
      log.find('mqtt connect failed').every((r) => r.code === 'ENOENT'),
      'logged with ENOENT',
    );
    await transport.stop();
    await t.rejects(starting, { code: 'IG_ERR_MQTT_CONNECT' }, 'start() ends when stopped');
  });
}
