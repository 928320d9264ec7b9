import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent, sleep } from './helpers/gateway-process.js';

t.test(
  'a response topic outside the allowed pattern is refused and the daemon stays connected',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { gateway, inbox, pub } = await startGatewayFixture(t, { collect: ['#'] });

    // A wildcard response topic is a protocol violation [MQTT-3.3.2-14]; the broker may pass it on anyway.
    await pub
      .publishAsync('atm/evil/tx', JSON.stringify(atmEvent('evil-1')), {
        qos: 1,
        properties: { responseTopic: 'a/#' },
      })
      .catch(() => t.comment('the publishing client refused the wildcard response topic itself'));
    await pub.publishAsync('atm/evil2/tx', JSON.stringify(atmEvent('evil-2')), {
      qos: 1,
      properties: { responseTopic: 'plant/line1/cmd' },
    });
    await sleep(500);
    await pub.publishAsync('atm/ok/tx', JSON.stringify(atmEvent('ok-1')), {
      qos: 1,
      properties: { responseTopic: 'reply/ok' },
    });
    await inbox.waitFor(1000, 3000);
    const replies = inbox.replies;

    t.notOk(
      replies.some((r) => r.topic === 'plant/line1/cmd'),
      'nothing published to the foreign topic',
    );
    const refused = replies.find((r) => r.topic === 'atm/evil2/decision');
    t.equal(refused?.body.reason, 'invalid_input', 'answered invalid_input on the pipeline output topic');
    t.match(refused?.body.error, { code: 'IG_ERR_TOPIC_NOT_ALLOWED' });
    t.ok(
      replies.some(
        (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.code === 'IG_ERR_TOPIC_NOT_ALLOWED',
      ),
      'dead-lettered',
    );
    const ok = replies.find((r) => r.topic === 'reply/ok');
    t.equal(ok?.body.source, 'model', 'a later good request is answered: still connected');
    t.notOk(
      gateway.logs.some(
        (l) =>
          typeof l.msg === 'string' && /disconnect|offline|reconnect/i.test(l.msg) && l.component === 'mqtt',
      ),
      'no disconnect logged',
    );
  },
);
