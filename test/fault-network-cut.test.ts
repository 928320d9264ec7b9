/**
 * Only the daemon's link to the broker is cut, mid-stream (~200 events/s): the daemon reaches Mosquitto
 * through a TCP proxy that starts dropping every byte (no FIN, no RST, as with a pulled cable or a firewall
 * drop), while the terminals' publisher and collector stay connected to the broker directly. Nothing tells
 * the daemon the link is dead: its MQTT keepalive must (FACTS: noticed after 1.5 × keepalive). It then
 * reconnects with backoff, each attempt timing out on the CONNACK until the link heals; its persistent
 * session has queued the events meanwhile, and the broker redelivers the ones it had sent into the void.
 */
import t from 'tap';
import { requireMosquitto, startMosquitto } from './helpers/mosquitto.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { describeVerdict, startTerminals, streamEvents, until, verdict } from './helpers/fault-stream.js';
import { sleep, startGateway, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';

const RATE = 200;
const COUNT = 1600;
const KEEPALIVE_SEC = 2;
const CUT_MS = 6_000;
const RECONNECT = { minMs: 200, maxMs: 2_000 };

t.test('link blackholed past the keepalive: detected, reconnected with backoff, zero lost', async (t) => {
  if (!requireMosquitto(t)) return;
  // The daemon's session queues ~CUT_MS × RATE events; Mosquitto's default of 1000 would drop the excess.
  const broker = await startMosquitto({ extraConfig: ['max_queued_messages 10000'] });
  t.teardown(() => broker.stop());
  const proxy = await startTcpProxy({ targetPort: broker.port });
  t.teardown(() => proxy.close());

  const dir = tempDir(t);
  const base = testConfig({ url: proxy.url, gatewayId: 'gw-cut', stateDir: `${dir}/state` });
  const config = {
    ...base,
    mqtt: {
      ...(base.mqtt as Record<string, unknown>),
      keepaliveSec: KEEPALIVE_SEC,
      connectTimeoutMs: 1_000,
      reconnect: RECONNECT,
    },
  };
  const gateway = await startGateway(t, writeConfig(dir, config));
  const { collector, publisher } = await startTerminals(t, broker.url, 'cut');

  const stream = streamEvents(publisher, {
    count: COUNT,
    rate: RATE,
    idPrefix: 'cut',
  });
  await sleep(1500);
  const logsBefore = gateway.logs.length;
  const cutAt = performance.now();
  proxy.blackhole();
  const detected = await until(
    () => gateway.logs.slice(logsBefore).some((l) => l.msg === 'mqtt disconnected'),
    CUT_MS,
  );
  const detectedAfterMs = performance.now() - cutAt;
  await sleep(Math.max(0, CUT_MS - (performance.now() - cutAt)));
  const logsAtHeal = gateway.logs.length;
  proxy.heal();
  const reconnected = await until(
    () => gateway.logs.slice(logsAtHeal).some((l) => l.msg === 'mqtt connected'),
    RECONNECT.maxMs + 8_000,
  );
  const reconnectedAfterMs = performance.now() - cutAt;

  await stream.settled(15_000);
  const published = stream.ids.filter((id) => stream.acked.has(id));
  await collector.waitForAll(published, 20_000);
  await sleep(500);

  const during = gateway.logs.slice(logsBefore);
  const disconnect = during.find((l) => l.msg === 'mqtt disconnected');
  const failedAttempts = during.filter((l) => l.msg === 'mqtt connect failed');
  const delays = failedAttempts.map((l) => Number(l.retryInMs));
  const connect = gateway.logs.slice(logsAtHeal).find((l) => l.msg === 'mqtt connected');
  const v = verdict(published, collector);
  t.comment(
    `cut ${CUT_MS} ms, keepalive ${KEEPALIVE_SEC} s: disconnect logged after ${detectedAfterMs.toFixed(0)} ms ` +
      `(${String(disconnect?.reason)}); ${failedAttempts.length} failed reconnects, delays [${delays.join(', ')}] ms; ` +
      `back after ${reconnectedAfterMs.toFixed(0)} ms (session present ${String(connect?.sessionPresent)}); ` +
      `${proxy.discardedBytes} bytes dropped by the cut`,
  );
  t.comment(describeVerdict(v));

  t.ok(detected, 'the transport logged the disconnect while the link was still cut');
  t.match(disconnect?.reason, /keepalive/i, 'noticed by the keepalive, not by a FIN or RST');
  t.ok(
    detectedAfterMs <= 2 * KEEPALIVE_SEC * 1000 + 1_500,
    `noticed within about 1.5 × keepalive (${detectedAfterMs.toFixed(0)} ms)`,
  );
  t.ok(failedAttempts.length >= 1, 'kept trying to reconnect while cut');
  t.ok(
    delays.every((d) => d >= RECONNECT.minMs && d <= RECONNECT.maxMs),
    'every retry delay within the configured backoff bounds',
  );
  t.ok(
    failedAttempts.length <= CUT_MS / RECONNECT.minMs,
    'no tight reconnect loop: attempts spaced by the backoff',
  );
  t.ok(reconnected, 'reconnected once the link healed');
  t.equal(connect?.sessionPresent, true, 'resumed its persistent session');
  t.equal(stream.errors.length, 0, 'the publisher (directly on the broker) saw no error');
  t.equal(v.published, COUNT, 'all events published');
  t.same(v.unanswered, [], 'every published event answered, those sent during the cut included');
  t.same(v.conflicting, [], 'all answers for one id identical');
  t.equal(gateway.child.exitCode, null, 'daemon alive');
});

t.test('link stalled for less than the keepalive: nothing noticed, nothing lost', async (t) => {
  if (!requireMosquitto(t)) return;
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const proxy = await startTcpProxy({ targetPort: broker.port });
  t.teardown(() => proxy.close());
  const dir = tempDir(t);
  const base = testConfig({ url: proxy.url, gatewayId: 'gw-stall', stateDir: `${dir}/state` });
  const config = { ...base, mqtt: { ...(base.mqtt as Record<string, unknown>), keepaliveSec: 5 } };
  const gateway = await startGateway(t, writeConfig(dir, config));
  const { collector, publisher } = await startTerminals(t, broker.url, 'stall');

  const stream = streamEvents(publisher, {
    count: 600,
    rate: RATE,
    idPrefix: 'stall',
  });
  await sleep(1000);
  const logsBefore = gateway.logs.length;
  // Bytes wait in the kernel buffers, as behind a congested link whose retransmissions get through.
  proxy.pause();
  await sleep(1500);
  proxy.resume();
  await stream.settled(10_000);
  const published = stream.ids.filter((id) => stream.acked.has(id));
  await collector.waitForAll(published, 15_000);
  await sleep(300);
  const v = verdict(published, collector);
  t.comment(describeVerdict(v));
  t.notOk(
    gateway.logs.slice(logsBefore).some((l) => l.msg === 'mqtt disconnected'),
    'a stall shorter than the keepalive does not cost a reconnect',
  );
  t.equal(v.published, 600, 'all events published');
  t.same(v.unanswered, [], 'every published event answered');
  t.same(v.conflicting, [], 'all answers for one id identical');
  t.equal(v.repeats, 0, 'no redelivery without a reconnect');
});
