import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent } from './helpers/gateway-process.js';

t.test('MQTT 5: a decision comes back on the response topic with the correlation data', async (t) => {
  if (!requireMosquitto(t)) return;
  const { inbox, pub } = await startGatewayFixture(t, {
    collect: ['reply/#', 'atm/+/decision', 'infergate/gw-test/status'],
  });
  await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('tx-1')), {
    qos: 1,
    properties: { responseTopic: 'reply/T1', correlationData: Buffer.from('corr-1') },
  });
  await pub.publishAsync('atm/T9/tx', JSON.stringify(atmEvent('tx-2', { amount: 9000, distanceKm: 800 })), {
    qos: 1,
  });

  const replies = await inbox.waitFor(3);
  const status = replies.find((r) => r.topic === 'infergate/gw-test/status');
  t.same(status?.body, { raw: 'online' }, 'retained online status');

  const viaResponse = replies.find((r) => r.topic === 'reply/T1');
  t.ok(viaResponse, 'answered on the response topic');
  t.equal(viaResponse?.correlation, 'corr-1', 'correlation data echoed');
  const body = viaResponse!.body;
  t.equal(body.id, 'tx-1');
  t.equal(body.pipeline, 'atm-risk');
  t.ok(
    ['accept', 'review', 'reject'].includes(body.decision as string),
    'decision is one of the rule outcomes',
  );
  t.equal(body.source, 'model');
  t.equal(body.reason, 'ok');
  t.type(body.score, 'number');
  t.match(body.model, { name: 'atm-risk', sha256: /^[0-9a-f]{12}$/ });
  t.type(body.latencyMs, 'number');
  t.ok((body.latencyMs as number) < 300, 'within the budget');
  t.equal(body.budgetMs, 300);
  t.match(body.ts, /^\d{4}-\d\d-\d\dT/);

  const viaTemplate = replies.find((r) => r.topic === 'atm/T9/decision');
  t.ok(viaTemplate, 'answered on the output template with the wildcard capture');
  t.equal(viaTemplate?.body.id, 'tx-2');
  t.equal(viaTemplate?.body.source, 'model');
});

t.test('MQTT 3.1.1 against Mosquitto: template output', async (t) => {
  if (!requireMosquitto(t)) return;
  // The collector and the publisher speak 3.1.1 too.
  const { inbox, pub } = await startGatewayFixture(t, {
    collect: ['atm/+/decision'],
    config: { protocolVersion: 4 },
  });
  await pub.publishAsync('atm/T2/tx', JSON.stringify(atmEvent('v4-1')), { qos: 1 });
  const [reply] = await inbox.waitFor(1);
  t.equal(reply?.topic, 'atm/T2/decision');
  t.equal(reply?.body.id, 'v4-1');
  t.equal(reply?.body.source, 'model');
});
