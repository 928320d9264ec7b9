import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { atmEvent } from './helpers/gateway-process.js';

t.test(
  'bad events get invalid_input and a dead letter without the payload; the daemon keeps serving',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { gateway, inbox, pub } = await startGatewayFixture(t, {
      collect: ['atm/+/decision', 'infergate/gw-test/deadletter'],
    });

    const secret = '4111111111111111';
    const bad: [string, string | Buffer, string][] = [
      ['not-json', `card ${secret} {`, 'IG_ERR_INPUT_NOT_JSON'],
      [
        'string-amount',
        JSON.stringify(atmEvent('bad-1', { amount: '12', pan: secret })),
        'IG_ERR_INPUT_FIELD_INVALID',
      ],
      [
        'missing-field',
        JSON.stringify({ id: 'bad-2', amount: 5, pan: secret }),
        'IG_ERR_INPUT_FIELD_MISSING',
      ],
      ['array', '[1,2,3]', 'IG_ERR_INPUT_NOT_OBJECT'],
      ['empty', '', 'IG_ERR_INPUT_EMPTY'],
      ['bad-utf8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'IG_ERR_INPUT_NOT_UTF8'],
    ];
    for (const [terminal, payload] of bad) await pub.publishAsync(`atm/${terminal}/tx`, payload, { qos: 1 });
    await pub.publishAsync('atm/good/tx', JSON.stringify(atmEvent('good-1')), { qos: 1 });

    const replies = await inbox.waitFor(bad.length * 2 + 1);
    for (const [terminal, , code] of bad) {
      const decision = replies.find((r) => r.topic === `atm/${terminal}/decision`);
      t.equal(decision?.body.reason, 'invalid_input', `${terminal}: invalid_input`);
      t.equal(decision?.body.source, 'fallback', `${terminal}: fallback source`);
      t.equal(decision?.body.decision, 'review', `${terminal}: the pipeline's fallback decision`);
      t.match(decision?.body.error, { code }, `${terminal}: error code ${code}`);
      const letter = replies.find(
        (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.topic === `atm/${terminal}/tx`,
      );
      t.equal(letter?.body.code, code, `${terminal}: dead letter with the code`);
      t.match(letter?.body, { size: Number, sha256: /^[0-9a-f]{64}$/ }, `${terminal}: size and sha256`);
      t.notOk(
        'payload' in (letter?.body ?? {}) || 'payloadBase64' in (letter?.body ?? {}),
        `${terminal}: no raw payload`,
      );
    }
    const missing = replies.find((r) => r.topic === 'atm/missing-field/decision');
    t.match(missing?.body.error, { field: 'currency' }, 'the missing field is named');

    const good = replies.find((r) => r.topic === 'atm/good/decision');
    t.equal(good?.body.source, 'model', 'a valid event after the bad ones still gets a model decision');
    t.equal(gateway.child.exitCode, null, 'daemon alive');
    const leaked = gateway.logs.filter((line) => JSON.stringify(line).includes(secret));
    t.equal(leaked.length, 0, 'no log line carries payload content');
  },
);
