/**
 * Events published while the gateway is down are delivered when it comes back with the same client id:
 * the persistent session (clean: false, plus a Session Expiry Interval on MQTT 5) holds them.
 */
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import type { InboundMessage } from '../daemon/ports.js';
import { memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe } from './helpers/mqtt-probe.js';

const EVENTS = 20;

if (requireMosquitto(t)) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());

  for (const protocolVersion of [5, 4] as const) {
    t.test(
      `MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: ${EVENTS} events queued while away all arrive`,
      async (t) => {
        const log = memoryLogger();
        const config = mqttConfig({
          url: broker.url,
          protocolVersion,
          clientId: `session-v${protocolVersion}`,
        });
        const deps = {
          logger: log.logger,
          config,
          statusTopic: `infergate/session-v${protocolVersion}/status`,
        };
        const filter = `plant/v${protocolVersion}/+/event`;

        // First run: establishes the session and its subscription, then goes away cleanly.
        const first = createMqttTransport(deps);
        await first.start([filter], () => undefined);
        await first.stop();
        t.equal(first.state, 'stopped');

        const probe = await connectProbe(broker.url);
        t.teardown(() => probe.end());
        for (let i = 0; i < EVENTS; i++) {
          await probe.publish(`plant/v${protocolVersion}/line${i}/event`, JSON.stringify({ id: `e${i}` }), {
            qos: 1,
          });
        }

        const received: InboundMessage[] = [];
        const sessions: boolean[] = [];
        const second = createMqttTransport(deps);
        second.on('connect', ({ sessionPresent }) => sessions.push(sessionPresent));
        t.teardown(() => second.stop());
        await second.start([filter], (message) => {
          received.push(message);
        });
        await waitFor(() => received.length >= EVENTS, `${EVENTS} queued events`).catch((error: Error) => {
          t.fail(`${error.message}; got ${received.length}\n${log.dump()}`);
        });

        t.same(sessions, [true], 'the broker kept the session');
        const ids = received.map((m) => (JSON.parse(m.payload.toString()) as { id: string }).id);
        t.same(
          [...new Set(ids)].sort(),
          Array.from({ length: EVENTS }, (_, i) => `e${i}`).sort(),
          'every queued event arrived',
        );
        t.ok(
          received.every((m) => m.qos === 1),
          'delivered at QoS 1',
        );
        t.equal(second.state, 'connected');
      },
    );
  }

  t.test('MQTT 5: a retained event is not replayed by the resubscribe on a resumed session', async (t) => {
    const config = mqttConfig({ url: broker.url, clientId: 'session-retained' });
    const deps = { logger: memoryLogger().logger, config, statusTopic: 'infergate/session-retained/status' };
    const probe = await connectProbe(broker.url);
    t.teardown(() => probe.end());
    await probe.publish('plant/retained/event', 'sticky', { qos: 1, retain: true });
    t.teardown(() => probe.publish('plant/retained/event', '', { qos: 1, retain: true }));

    const counts: number[] = [];
    for (let run = 0; run < 2; run++) {
      const received: InboundMessage[] = [];
      const transport = createMqttTransport(deps);
      await transport.start(['plant/retained/event'], (message) => {
        received.push(message);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await transport.stop();
      counts.push(received.length);
    }
    t.same(counts, [1, 0], 'delivered with the new subscription only');
  });

  t.test('MQTT 5 without a Session Expiry Interval: nothing survives the absence', async (t) => {
    const log = memoryLogger();
    const config = mqttConfig({ url: broker.url, clientId: 'session-none', sessionExpirySec: 0 });
    const deps = { logger: log.logger, config, statusTopic: 'infergate/session-none/status' };
    const first = createMqttTransport(deps);
    await first.start(['plant/none/event'], () => undefined);
    await first.stop();
    t.equal(log.find('sessionExpirySec is 0').length, 1, 'the risk is logged at start');

    const probe = await connectProbe(broker.url);
    t.teardown(() => probe.end());
    await probe.publish('plant/none/event', 'lost', { qos: 1 });

    const received: InboundMessage[] = [];
    const sessions: boolean[] = [];
    const second = createMqttTransport(deps);
    second.on('connect', ({ sessionPresent }) => sessions.push(sessionPresent));
    t.teardown(() => second.stop());
    await second.start(['plant/none/event'], (message) => {
      received.push(message);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.same(sessions, [false], 'no session on the broker');
    t.equal(received.length, 0, 'the event published meanwhile is gone');
  });
}
