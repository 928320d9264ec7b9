/** A model that has not answered by the deadline: the fallback goes out exactly at the deadline, once. */
import t from 'tap';
import { atmMessage, committed, coreConfig, startCoreGateway, stateDir } from './helpers/core-gateway.js';

t.test('the deadline fallback is published at the deadline, not a millisecond before', async (t) => {
  const config = coreConfig(stateDir(t), { budgetMs: 300, fallback: 'review' });
  const { transport, model, clock } = await startCoreGateway(t, config);

  t.equal(await transport.deliver(atmMessage('tx-1')), true, 'recorded, then acknowledged');
  t.equal(model.runs.length, 1, 'the event went to the model');

  clock.advance(299);
  await committed();
  t.same(transport.messagesOn('atm/t1/decision'), [], 'nothing published a millisecond before the deadline');

  clock.advance(1);
  await committed();
  const decisions = transport.messagesOn('atm/t1/decision');
  t.equal(decisions.length, 1, 'one decision at the deadline');
  t.match(decisions[0], {
    id: 'tx-1',
    pipeline: 'atm-risk',
    decision: 'review',
    score: null,
    source: 'fallback',
    reason: 'deadline',
    latencyMs: 300,
    budgetMs: 300,
  });

  model.runs[0]!.resolve([0.9]);
  await committed();
  t.equal(
    transport.messagesOn('atm/t1/decision').length,
    1,
    'the late model result is not a second decision',
  );
});
