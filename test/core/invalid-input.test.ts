/** Input the pipeline cannot read gets an `invalid_input` decision and a dead letter, never inference. */
import t from 'tap';
import { ErrorCodes } from '../../daemon/errors.js';
import {
  committed,
  coreConfig,
  DEAD_LETTER_TOPIC,
  GATEWAY_ID,
  startCoreGateway,
  stateDir,
} from './helpers/core-gateway.js';

t.test('invalid input: an invalid_input decision on record and a dead letter', async (t) => {
  const config = coreConfig(stateDir(t), { fallback: 'review' });
  const { gateway, transport, model } = await startCoreGateway(t, config);
  const payload = 'card=4111111111111111;amount=12';

  t.equal(
    await transport.deliver({ topic: 'atm/t9/tx', payload }),
    true,
    'acknowledged: the answer is on record',
  );
  await committed();

  const decisions = transport.messagesOn('atm/t9/decision');
  t.equal(decisions.length, 1, 'answered once');
  t.match(decisions[0], {
    pipeline: 'atm-risk',
    decision: 'review',
    score: null,
    source: 'fallback',
    reason: 'invalid_input',
    error: { code: ErrorCodes.INPUT_NOT_JSON },
  });
  const deadLetters = transport.messagesOn(DEAD_LETTER_TOPIC);
  t.equal(deadLetters.length, 1, 'one dead letter');
  t.match(deadLetters[0], {
    code: ErrorCodes.INPUT_NOT_JSON,
    pipeline: 'atm-risk',
    id: decisions[0]!.id,
    topic: 'atm/t9/tx',
    size: payload.length,
    gateway: GATEWAY_ID,
  });
  t.notOk('payloadBase64' in deadLetters[0]!, 'the payload is not copied');
  t.notOk(
    transport.published.some((p) => p.payload.includes('4111111111111111')),
    'nothing published carries the raw input',
  );
  t.equal(model.runs.length, 0, 'no inference');
  t.same(gateway.counters.decided, { invalid_input: 1 });
});
