import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

t.test('a redelivered id is answered from the decision log, not inferred again', async (t) => {
  if (!requireMosquitto(t)) return;
  const { gateway, inbox, pub } = await startGatewayFixture(t, { collect: ['atm/+/decision'] });

  await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('same-id')), { qos: 1 });
  await inbox.waitFor(1);
  await sleep(50);
  // Same id, different values: the stored decision stands, so a retry can never flip an answer.
  await pub.publishAsync('atm/T1/tx', JSON.stringify(atmEvent('same-id', { amount: 99999 })), { qos: 1 });
  const replies = await inbox.waitFor(2);
  t.equal(replies.length, 2, 'both deliveries are answered');
  t.same(replies[1]?.body, replies[0]?.body, 'the second answer is the stored decision, byte for byte');
  await gateway.waitForLog((l) => l.msg === 'redelivery answered from the log');
});
