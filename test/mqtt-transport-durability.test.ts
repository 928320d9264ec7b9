/**
 * The PUBACKs of a turn leave only after the durability barrier ran for the messages they acknowledge. When
 * the barrier throws, they never leave: the connection is dropped and the broker redelivers exactly the
 * messages that were not made durable; a message made durable is not redelivered.
 */
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import { delay, memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe } from './helpers/mqtt-probe.js';

const MESSAGES = 40;

if (requireMosquitto(t)) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());

  for (const protocolVersion of [5, 4] as const) {
    t.test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: a failed barrier sends no PUBACK`, async (t) => {
      const log = memoryLogger();
      const topic = `durable/v${protocolVersion}/event`;
      const transport = createMqttTransport({
        logger: log.logger,
        config: mqttConfig({ url: broker.url, protocolVersion, clientId: `durable-v${protocolVersion}` }),
        statusTopic: `infergate/durable-v${protocolVersion}/status`,
      });
      t.teardown(() => transport.stop());
      /** Handled since the last barrier: what the barrier makes durable. */
      let staged: string[] = [];
      const durable: string[] = [];
      const lost: string[] = [];
      const deliveries: string[] = [];
      /** Made durable before the failed barrier: their PUBACKs may still be in the socket it drops. */
      const durableBeforeFailure: string[] = [];
      let barriers = 0;
      await transport.start(
        [topic],
        (message) => {
          const payload = message.payload.toString();
          deliveries.push(payload);
          staged.push(payload);
        },
        () => {
          barriers += 1;
          const batch = staged;
          staged = [];
          if (batch.includes('m10') && lost.length === 0) {
            lost.push(...batch);
            throw new Error('disk full');
          }
          durable.push(...batch);
          if (lost.length === 0) durableBeforeFailure.push(...batch);
        },
      );

      const probe = await connectProbe(broker.url);
      t.teardown(() => probe.end());
      // Published without waiting for each other, so the gateway side gets several per chunk.
      await Promise.all(
        Array.from({ length: MESSAGES }, (_, i) => probe.publish(topic, `m${i}`, { qos: 1 })),
      );
      await waitFor(() => new Set(durable).size === MESSAGES, 'every message durable', 10_000).catch(
        (error: Error) => t.fail(`${error.message}: durable ${durable.join(',')}\n${log.dump()}`),
      );
      // Long enough for a wrongful redelivery of a durable message to show up.
      await delay(500);

      t.ok(lost.includes('m10'), 'the barrier failed once');
      t.same(
        [...new Set(durable)].sort(),
        Array.from({ length: MESSAGES }, (_, i) => `m${i}`).sort(),
        'every message made durable',
      );
      // A PUBACK written just before the failure may still sit in the socket (a busy broker had not read
      // it) when the failed barrier drops the connection, and is lost with it: that message comes back
      // although durable, which its id makes harmless (at least once). Nothing made durable after the
      // reconnect may come back.
      const repeated = durable.filter((payload, i) => durable.indexOf(payload) !== i);
      t.same(
        repeated.filter((payload) => !durableBeforeFailure.includes(payload)),
        [],
        `none redelivered after its PUBACK left on the live connection (${repeated.length} from before the drop)`,
      );
      t.same(
        lost.filter((payload) => deliveries.filter((p) => p === payload).length !== 2),
        [],
        `the ${lost.length} messages of the failed barrier came back once each: their PUBACKs never left`,
      );
      t.ok(barriers < deliveries.length, `${deliveries.length} deliveries shared ${barriers} barriers`);
      t.equal(log.find('could not record the events of this turn').length, 1, 'the failure is logged');
      t.equal(transport.state, 'connected', 'connected again');
    });
  }
}
