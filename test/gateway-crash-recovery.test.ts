import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, decisionsById, sleep, spawnGateway } from './helpers/gateway-process.js';

t.test('kill -9 mid-stream, restart: every event answered, one decision per id', async (t) => {
  if (!requireMosquitto(t)) return;
  const { configFile, gateway: first, inbox, pub } = await startGatewayFixture(t, { collect: ['reply/#'] });

  const total = 300;
  const ids: string[] = [];
  const sends: Promise<unknown>[] = [];
  // ~200 events/s; the gateway is killed after a third of them and restarted after two thirds.
  for (let i = 0; i < total; i += 1) {
    const id = `crash-${i}`;
    ids.push(id);
    sends.push(
      pub.publishAsync(`atm/T${i % 7}/tx`, JSON.stringify(atmEvent(id, { amount: 10 + i })), {
        qos: 1,
        properties: { responseTopic: `reply/T${i % 7}`, correlationData: Buffer.from(id) },
      }),
    );
    if (i === Math.floor(total / 3)) first.kill('SIGKILL');
    if (i === Math.floor((2 * total) / 3)) {
      await first.exited;
      const second = spawnGateway(configFile);
      t.teardown(async () => {
        second.kill('SIGKILL');
        await second.exited;
      });
    }
    await sleep(5);
  }
  await Promise.all(sends);
  // Counting replies is not enough: repeats of a stored decision would make up for ids still unanswered.
  const answered = () => new Set(inbox.replies.map((reply) => reply.body.id));
  const until = performance.now() + 20000;
  while (ids.some((id) => !answered().has(id)) && performance.now() < until) await sleep(50);
  await sleep(500);

  for (const reply of inbox.replies) {
    t.equal(reply.correlation, reply.body.id as string, 'correlation data matches the id');
  }
  const byId = decisionsById(inbox.replies);
  const unanswered = ids.filter((id) => !byId.has(id));
  t.same(unanswered, [], 'no event lost');
  const conflicting = [...byId].filter(([, decisions]) => decisions.size !== 1).map(([id]) => id);
  t.same(conflicting, [], 'a redelivered id always carries the same decision');
  t.comment(
    `${inbox.replies.length} replies for ${total} events (${inbox.replies.length - byId.size} repeats of a stored decision)`,
  );
});
