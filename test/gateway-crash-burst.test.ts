/**
 * kill -9 while the gateway takes a burst: events arrive many per chunk of socket data, so their inserts
 * share one commit and their PUBACKs wait for it. Whatever moment the kill hits (before that commit, after
 * it with the PUBACKs still held, after they left), every event is answered after the restart, and an id
 * never carries two different decisions.
 */
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, decisionsById, sleep, spawnGateway } from './helpers/gateway-process.js';

const TOTAL = 5000;

t.test('kill -9 mid-burst, restart: every event answered, one decision per id', async (t) => {
  if (!requireMosquitto(t)) return;
  const {
    configFile,
    gateway: first,
    inbox,
    pub,
  } = await startGatewayFixture(t, {
    collect: ['reply/#'],
    // The whole burst may wait for the restarted gateway: above Mosquitto's default of 1000 per session.
    mosquitto: { extraConfig: ['max_queued_messages 20000', 'max_inflight_messages 0'] },
  });

  // Killed at the first answer, from the collector's own message event (a polling loop can be starved on
  // a busy box until the whole burst is through): the rest of the burst is still arriving, chunk by chunk.
  inbox.client.once('message', () => first.kill('SIGKILL'));
  const ids = Array.from({ length: TOTAL }, (_, i) => `burst-${i}`);
  const sends = ids.map((id, i) =>
    pub.publishAsync(`atm/T${i % 7}/tx`, JSON.stringify(atmEvent(id, { amount: 10 + i })), {
      qos: 1,
      properties: { responseTopic: `reply/T${i % 7}`, correlationData: Buffer.from(id) },
    }),
  );
  await first.exited;
  const answeredBeforeKill = new Set(inbox.replies.map((reply) => reply.body.id)).size;
  await Promise.all(sends);
  const second = spawnGateway(configFile);
  t.teardown(async () => {
    second.kill('SIGKILL');
    await second.exited;
  });

  const answered = () => new Set(inbox.replies.map((reply) => reply.body.id));
  const until = performance.now() + 30_000;
  while (ids.some((id) => !answered().has(id)) && performance.now() < until) await sleep(50);
  await sleep(500);

  const byId = decisionsById(inbox.replies);
  t.ok(answeredBeforeKill < TOTAL, `killed mid-burst: ${answeredBeforeKill} of ${TOTAL} answered before`);
  t.same(
    ids.filter((id) => !byId.has(id)),
    [],
    'no event lost',
  );
  t.same(
    [...byId].filter(([, decisions]) => decisions.size !== 1).map(([id]) => id),
    [],
    'a redelivered id always carries the same decision',
  );
  t.comment(
    `${inbox.replies.length} replies for ${TOTAL} events (${inbox.replies.length - byId.size} repeats of a stored decision)`,
  );
});
