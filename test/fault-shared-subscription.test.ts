/**
 * Three daemons share one stream through an MQTT 5 shared subscription (`$share/infergate/atm/+/tx`) on one
 * Mosquitto, each with its own gateway id, stable client id, persistent session and state dir. One is killed
 * with SIGKILL mid-stream (~200 events/s) and started again, under the same client id, a few seconds later.
 *
 * What Mosquitto does meanwhile (FACTS): it keeps routing the dead member's share of the stream to its
 * offline persistent session, and does not hand it to the live members; the events wait there until that
 * client id returns (or its session expires, or they hit their Message Expiry). So nothing is lost, but that
 * share runs late by the length of the outage. Messages the dead member had in flight stay in its session
 * too and are redelivered to it: an id it had already decided is answered again from its decision log, with
 * the same decision. Any other id is answered exactly once.
 */
import t from 'tap';
import { requireMosquitto, startMosquitto } from './helpers/mosquitto.js';
import { describeVerdict, startTerminals, streamEvents, verdict } from './helpers/fault-stream.js';
import {
  atmPipeline,
  sleep,
  startGateway,
  tempDir,
  testConfig,
  writeConfig,
  type GatewayProcess,
} from './helpers/gateway-process.js';

const RATE = 200;
const COUNT = 1600;
const MEMBERS = ['gw-a', 'gw-b', 'gw-c'] as const;
const VICTIM = 'gw-b';
const DEAD_MS = 3000;

t.test('kill -9 one of three shared-subscription members mid-stream: zero lost, answered once', async (t) => {
  if (!requireMosquitto(t)) return;
  // The victim's share queues in its offline session: ~DEAD_MS × RATE / 3 events, under the limit anyway.
  const broker = await startMosquitto({ extraConfig: ['max_queued_messages 10000'] });
  t.teardown(() => broker.stop());

  const configs = new Map<string, string>();
  for (const gatewayId of MEMBERS) {
    const dir = tempDir(t);
    const config = testConfig({
      url: broker.url,
      gatewayId,
      stateDir: `${dir}/state`,
      pipelines: [atmPipeline({ subscribe: '$share/infergate/atm/+/tx' })],
      extra: { log: { level: 'info' } },
    });
    configs.set(gatewayId, writeConfig(dir, config));
  }
  const gateways = new Map<string, GatewayProcess>();
  await Promise.all(MEMBERS.map(async (id) => gateways.set(id, await startGateway(t, configs.get(id)!))));
  for (const [id, gateway] of gateways) {
    const connected = gateway.logs.find((l) => l.msg === 'mqtt connected');
    t.ok(connected, `${id} connected (client id infergate-${id})`);
  }

  const { collector, publisher } = await startTerminals(t, broker.url, 'share');
  const stream = streamEvents(publisher, {
    count: COUNT,
    rate: RATE,
    idPrefix: 'share',
  });

  await sleep(2500);
  const victim = gateways.get(VICTIM)!;
  victim.kill('SIGKILL');
  await victim.exited;
  const killedAt = stream.ids.length;
  await sleep(DEAD_MS);
  const restartedAt = stream.ids.length;
  const second = await startGateway(t, configs.get(VICTIM)!);
  const back = second.logs.find((l) => l.msg === 'mqtt connected');

  await stream.settled(15_000);
  const published = stream.ids.filter((id) => stream.acked.has(id));
  await collector.waitForAll(published, 20_000);
  await sleep(500);

  const v = verdict(published, collector);
  const answeredBy = (id: string): string[] =>
    (collector.byId.get(id) ?? []).map((d) => String(d.body.gateway));
  const perGateway: Record<string, number> = {};
  for (const id of published) {
    const first = answeredBy(id)[0];
    if (first !== undefined) perGateway[first] = (perGateway[first] ?? 0) + 1;
  }
  const repeated = published.filter((id) => (collector.byId.get(id)?.length ?? 0) > 1);
  const repeatedElsewhere = repeated.filter((id) => answeredBy(id).some((g) => g !== VICTIM));
  // Published while the victim was dead: its share of those can only have been answered by its second run.
  const window = stream.ids.slice(killedAt, restartedAt);
  const waitedForVictim = window.filter((id) => answeredBy(id).includes(VICTIM)).length;
  const recovered = second.logs.find((l) => l.msg === 'recovered events from the inbox');

  t.comment(describeVerdict(v));
  t.comment(
    `first answers per gateway ${JSON.stringify(perGateway)}; ${repeated.length} ids answered more than once ` +
      `(${v.repeats} extra answers, ${repeatedElsewhere.length} of them involving a live member); ` +
      `${window.length} events published while ${VICTIM} was dead, ${waitedForVictim} of them waited in its ` +
      `offline session and were answered by its second run; recovery: ${JSON.stringify(recovered ?? null)}`,
  );

  t.equal(back?.sessionPresent, true, `${VICTIM} came back to its persistent session`);
  t.equal(stream.errors.length, 0, 'no publish error');
  t.equal(v.published, COUNT, 'all events published');
  t.same(v.unanswered, [], 'every published event answered');
  t.same(v.conflicting, [], 'all answers for one id identical');
  t.same(repeatedElsewhere, [], `only ids of the killed member (${VICTIM}) are answered more than once`);
  t.ok(
    waitedForVictim > 0,
    `Mosquitto kept ${VICTIM}'s share for its offline session instead of redistributing it`,
  );
  for (const id of MEMBERS) {
    t.ok((perGateway[id] ?? 0) > 0, `${id} answered part of the stream`);
    if (id !== VICTIM) t.equal(gateways.get(id)!.child.exitCode, null, `${id} still running`);
  }
  t.equal(second.child.exitCode, null, `${VICTIM} (second run) still running`);
});
