import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep, startGateway } from './helpers/gateway-process.js';

t.test('SIGTERM drains in-flight events, publishes offline and exits 0 within 5 s', async (t) => {
  if (!requireMosquitto(t)) return;
  const { configFile, gateway, inbox, pub } = await startGatewayFixture(t, {
    collect: ['reply/#', 'infergate/gw-test/status'],
  });

  const n = 50;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent(`term-${i}`)), {
        qos: 1,
        properties: { responseTopic: 'reply/T1' },
      }),
    ),
  );
  await inbox.waitFor(3, 3000);
  const stopAt = performance.now();
  gateway.kill('SIGTERM');
  const exit = await gateway.exited;
  const stopMs = performance.now() - stopAt;
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(stopMs < 5000, `stopped in ${Math.round(stopMs)} ms`);

  await sleep(200);
  const statuses = inbox.replies.filter((r) => r.topic === 'infergate/gw-test/status').map((r) => r.body.raw);
  t.equal(statuses.at(-1), 'offline', 'offline published on the status topic');
  const firstRun = new Set(inbox.replies.filter((r) => r.topic === 'reply/T1').map((r) => r.body.id));
  t.ok(firstRun.size > 0, `${firstRun.size} answered before the stop`);

  // Whatever arrived during the drain, or was still queued at the broker, is answered after a restart.
  await startGateway(t, configFile);
  const until = performance.now() + 10000;
  const answered = () => new Set(inbox.replies.filter((r) => r.topic === 'reply/T1').map((r) => r.body.id));
  while (answered().size < n && performance.now() < until) await sleep(50);
  t.equal(answered().size, n, 'every event answered across the stop and restart');
});
