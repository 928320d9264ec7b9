/**
 * The PUBACK goes out only after the handler resolved. A rejected message stays unacknowledged, the
 * transport resumes its session (clean DISCONNECT, no Last Will) and the broker redelivers exactly that
 * one, flagged dup; messages that were handled are not redelivered.
 */
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import type { InboundMessage } from '../daemon/ports.js';
import { delay, memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe } from './helpers/mqtt-probe.js';

const HANDLER_MS = 300;

if (requireMosquitto(t)) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());

  for (const protocolVersion of [5, 4] as const) {
    t.test(
      `MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: a rejected message is redelivered, the others are not`,
      async (t) => {
        const log = memoryLogger();
        const statusTopic = `infergate/ack-v${protocolVersion}/status`;
        const topic = `ack/v${protocolVersion}/event`;
        const transport = createMqttTransport({
          logger: log.logger,
          config: mqttConfig({ url: broker.url, protocolVersion, clientId: `ack-v${protocolVersion}` }),
          statusTopic,
        });
        const seen: InboundMessage[] = [];
        let running = 0;
        let maxRunning = 0;
        let rejected = false;
        const events: string[] = [];
        transport.on('connect', ({ sessionPresent }) => events.push(`connect:${sessionPresent}`));
        transport.on('disconnect', ({ reason }) => events.push(`disconnect:${reason}`));
        t.teardown(() => transport.stop());
        await transport.start([topic], async (message) => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          seen.push(message);
          await delay(HANDLER_MS);
          running -= 1;
          if (message.payload.toString() === 'm2' && !rejected) {
            rejected = true;
            throw new Error('inbox write failed');
          }
        });

        const watcher = await connectProbe(broker.url);
        t.teardown(() => watcher.end());
        await watcher.subscribe(statusTopic);
        const probe = await connectProbe(broker.url);
        t.teardown(() => probe.end());
        for (const payload of ['m1', 'm2', 'm3', 'm4']) await probe.publish(topic, payload, { qos: 1 });

        await waitFor(() => seen.length >= 5, 'four messages and one redelivery', 8_000).catch(
          (error: Error) =>
            t.fail(`${error.message}: ${seen.map((m) => m.payload.toString()).join(',')}\n${log.dump()}`),
        );
        // Long enough for any wrongful redelivery of m1, m3 or m4 to show up.
        await delay(800);

        const order = seen.map((m) => `${m.payload.toString()}${m.dup ? '(dup)' : ''}`);
        t.same(
          order,
          ['m1', 'm2', 'm3', 'm4', 'm2(dup)'],
          'only the rejected message came back, flagged dup',
        );
        t.equal(maxRunning, 1, 'handlers ran one at a time');
        t.same(
          events,
          ['connect:false', 'disconnect:session resume', 'connect:true'],
          'the session was resumed',
        );
        t.equal(log.find('not acknowledged').length, 1, 'the rejection is logged');
        t.notOk(
          watcher.messages.some((m) => m.payload.toString() === 'offline'),
          'no offline flap: the resume disconnects cleanly, so the Last Will is not sent',
        );
        t.equal(transport.state, 'connected');
      },
    );
  }

  t.test('a publish issued while the session resumes waits for it instead of failing', async (t) => {
    const log = memoryLogger();
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url: broker.url, clientId: 'ack-publish' }),
      statusTopic: 'infergate/ack-publish/status',
    });
    const probe = await connectProbe(broker.url);
    t.teardown(() => probe.end());
    await probe.subscribe('ack/out/#');
    let first = true;
    let resumedAt = 0;
    transport.on('disconnect', ({ reason }) => {
      if (reason !== 'session resume') return;
      resumedAt = performance.now();
      // Published in the middle of the resume.
      void transport.publish('ack/out/during', 'x', { qos: 1 }).then(
        () => undefined,
        (error: Error) => t.fail(`publish during resume failed: ${error.message}`),
      );
    });
    t.teardown(() => transport.stop());
    await transport.start(['ack/in'], async () => {
      if (first) {
        first = false;
        throw new Error('transient');
      }
    });
    await probe.publish('ack/in', 'x', { qos: 1 });
    const [message] = await probe.waitForMessages('ack/out/during', 1, 5_000);
    t.ok(resumedAt > 0, 'the session was resumed');
    t.equal(message?.payload.toString(), 'x', 'published once the connection was back');
  });
}
