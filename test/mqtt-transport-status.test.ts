/**
 * The status topic: retained `online` after start, retained `offline` after stop(), and `offline` from
 * the broker (Last Will) when the gateway's connection dies without a DISCONNECT.
 */
import net from 'node:net';
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import { memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe, type MqttProbe } from './helpers/mqtt-probe.js';

/** A TCP relay whose broker-side sockets the test can cut, as a dying network or process would. */
async function startRelay(
  targetPort: number,
): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: targetPort });
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      for (const [inbound, outbound] of pairs) {
        outbound.destroy();
        inbound.destroy();
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [inbound, outbound] of pairs) {
          inbound.destroy();
          outbound.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** What a newcomer subscribing to the status topic is told (the retained message). */
async function retainedStatus(url: string, topic: string): Promise<{ payload: string; retain: boolean }> {
  const probe: MqttProbe = await connectProbe(url);
  try {
    await probe.subscribe(topic);
    const [message] = await probe.waitForMessages(topic, 1, 2_000);
    return { payload: message!.payload.toString(), retain: message!.retain };
  } finally {
    await probe.end();
  }
}

if (requireMosquitto(t)) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());

  for (const protocolVersion of [5, 4] as const) {
    t.test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: online on start, offline on stop`, async (t) => {
      const statusTopic = `infergate/status-v${protocolVersion}/status`;
      const transport = createMqttTransport({
        logger: memoryLogger().logger,
        config: mqttConfig({ url: broker.url, protocolVersion, clientId: `status-v${protocolVersion}` }),
        statusTopic,
      });
      t.teardown(() => transport.stop());
      await transport.start([], () => undefined);
      t.same(
        await retainedStatus(broker.url, statusTopic),
        { payload: 'online', retain: true },
        'retained online',
      );

      await transport.stop();
      await transport.stop();
      t.same(
        await retainedStatus(broker.url, statusTopic),
        { payload: 'offline', retain: true },
        'retained offline',
      );
      t.equal(transport.state, 'stopped');
    });
  }

  t.test(
    'the Last Will reports offline when the connection dies, online returns with the reconnect',
    async (t) => {
      const statusTopic = 'infergate/status-will/status';
      const relay = await startRelay(broker.port);
      t.teardown(() => relay.close());
      const log = memoryLogger();
      const transport = createMqttTransport({
        logger: log.logger,
        config: mqttConfig({ url: `mqtt://127.0.0.1:${relay.port}`, clientId: 'status-will' }),
        statusTopic,
      });
      t.teardown(() => transport.stop());
      const disconnects: string[] = [];
      transport.on('disconnect', ({ reason }) => disconnects.push(reason));
      await transport.start([], () => undefined);

      const watcher = await connectProbe(broker.url);
      t.teardown(() => watcher.end());
      await watcher.subscribe(statusTopic);
      await watcher.waitForMessages(statusTopic, 1, 2_000);

      relay.cut();
      const statuses = await watcher.waitForMessages(statusTopic, 3, 5_000).catch((error: Error) => {
        t.fail(`${error.message}\n${log.dump()}`);
        return [];
      });
      t.same(
        statuses.map((m) => m.payload.toString()),
        ['online', 'offline', 'online'],
        'Will published by the broker, then online again after the reconnect',
      );
      t.equal(statuses[1]?.retain, false, 'a live subscriber gets the Will as a normal publish');
      await waitFor(() => transport.state === 'connected', 'the reconnect');
      t.equal(disconnects.length, 1, 'the core was told about the disconnect');
      t.same(await retainedStatus(broker.url, statusTopic), { payload: 'online', retain: true });
    },
  );

  t.test('a Will that fired is retained for newcomers', async (t) => {
    const statusTopic = 'infergate/status-will-retained/status';
    const relay = await startRelay(broker.port);
    t.teardown(() => relay.close());
    const transport = createMqttTransport({
      logger: memoryLogger().logger,
      config: mqttConfig({ url: `mqtt://127.0.0.1:${relay.port}`, clientId: 'status-will-retained' }),
      statusTopic,
    });
    t.teardown(() => transport.stop());
    await transport.start([], () => undefined);
    // The relay goes away with the connection: the gateway stays cut off.
    await relay.close();
    t.same(await retainedStatus(broker.url, statusTopic), { payload: 'offline', retain: true });
  });
}
