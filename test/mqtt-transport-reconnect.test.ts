/**
 * Broker restarts: the transport retries with a jittered, growing delay, reconnects, subscribes again
 * (the restarted broker has no session and no subscriptions) and events published afterwards arrive.
 * Every new socket gets TCP_NODELAY.
 */
import net from 'node:net';
import t from 'tap';
import { createMqttTransport } from '../adapters/mqtt/transport.js';
import type { InboundMessage } from '../daemon/ports.js';
import { delay, memoryLogger, mqttConfig, waitFor } from './helpers/mqtt-fixtures.js';
import { startMosquitto, requireMosquitto } from './helpers/mosquitto.js';
import { connectProbe } from './helpers/mqtt-probe.js';

if (requireMosquitto(t)) {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());

  t.test('restarted broker: reconnect with backoff, resubscribe, events flow again', async (t) => {
    // Counts setNoDelay(true) calls on TCP sockets: one per connection the transport opens.
    const originalSetNoDelay = net.Socket.prototype.setNoDelay;
    let noDelaySockets = 0;
    net.Socket.prototype.setNoDelay = function (this: net.Socket, noDelay?: boolean) {
      if (noDelay === true) noDelaySockets += 1;
      return originalSetNoDelay.call(this, noDelay);
    };
    t.teardown(() => {
      net.Socket.prototype.setNoDelay = originalSetNoDelay;
    });

    const log = memoryLogger();
    const reconnect = { minMs: 50, maxMs: 400 };
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url: broker.url, clientId: 'reconnect', reconnect }),
      statusTopic: 'infergate/reconnect/status',
    });
    const received: InboundMessage[] = [];
    const events: string[] = [];
    transport.on('connect', ({ sessionPresent }) => events.push(`connect:${sessionPresent}`));
    transport.on('disconnect', () => events.push('disconnect'));
    t.teardown(() => transport.stop());
    await transport.start(['line/+/event'], (message) => {
      received.push(message);
    });
    const socketsAfterStart = noDelaySockets;
    t.equal(socketsAfterStart, 1, 'no-delay set on the first socket');

    const before = await connectProbe(broker.url);
    await before.publish('line/1/event', 'before', { qos: 1 });
    await before.end();
    await waitFor(() => received.length === 1, 'the event before the restart');

    await broker.stop();
    await waitFor(
      () => transport.state === 'disconnected' || transport.state === 'connecting',
      'the disconnect',
    );
    // Down long enough for several attempts: 50 ms, then up to 100, 200, 400, 400...
    await delay(1_500);
    const failures = log.find('mqtt connect failed');
    t.ok(failures.length >= 3, `retried while the broker was down (${failures.length} attempts)`);
    t.ok(failures.length <= 1_500 / reconnect.minMs + 1, 'no tight reconnect loop');
    t.ok(
      failures.every((f) => f.code === 'ECONNREFUSED' && f.level === 40),
      'each failure logged at warn with its error code',
    );
    const delays = failures.map((f) => f.retryInMs as number);
    t.ok(
      delays.every((d) => d >= reconnect.minMs && d <= reconnect.maxMs),
      `retry delays within [min, max]: ${delays.join(', ')}`,
    );
    t.ok(
      delays.slice(3).some((d) => d > 2 * reconnect.minMs),
      `the delay grows past the first attempts: ${delays.join(', ')}`,
    );

    await broker.restart();
    await waitFor(() => events.length >= 3, 'the reconnect', 5_000).catch((error: Error) =>
      t.fail(`${error.message}\n${log.dump()}`),
    );
    t.same(events, ['connect:false', 'disconnect', 'connect:false'], 'a fresh broker has no session');
    t.equal(transport.state, 'connected');

    const after = await connectProbe(broker.url);
    t.teardown(() => after.end());
    await after.publish('line/2/event', 'after', { qos: 1 });
    await waitFor(() => received.length === 2, 'the event after the restart').catch((error: Error) =>
      t.fail(`${error.message}: resubscribe missing?\n${log.dump()}`),
    );
    t.same(
      received.map((m) => m.payload.toString()),
      ['before', 'after'],
    );
    t.equal(
      noDelaySockets,
      socketsAfterStart + log.find('mqtt connect failed').length + 1,
      'no-delay set on every reconnect socket too',
    );

    const retry = log.find('mqtt connected').at(-1);
    t.equal(retry?.sessionPresent, false);
    t.ok(log.find('session was not resumed').length === 1, 'a lost session is logged');
  });

  t.test('start() keeps retrying while the broker is not up yet', async (t) => {
    const late = await startMosquitto();
    t.teardown(() => late.stop());
    await late.stop();
    const log = memoryLogger();
    const transport = createMqttTransport({
      logger: log.logger,
      config: mqttConfig({ url: late.url, clientId: 'late-broker' }),
      statusTopic: 'infergate/late/status',
    });
    t.teardown(() => transport.stop());
    let started = false;
    const starting = transport
      .start(['a/b'], () => undefined)
      .then(() => {
        started = true;
      });
    await waitFor(() => log.find('mqtt connect failed').length >= 2, 'two failed attempts');
    t.equal(started, false, 'start() has not resolved');
    t.equal(transport.state === 'connecting' || transport.state === 'disconnected', true);
    await late.restart();
    await starting;
    t.equal(transport.state, 'connected', 'start() resolved at the first connect');
  });
}
