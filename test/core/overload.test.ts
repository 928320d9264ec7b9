/** An event that cannot be served (its pipeline's queue is full) is answered `overload` at once. */
import t from 'tap';
import { atmMessage, committed, coreConfig, startCoreGateway, stateDir } from './helpers/core-gateway.js';

t.test('a full queue answers overload at once, without inference', async (t) => {
  const config = coreConfig(stateDir(t), { budgetMs: 300, maxQueue: 1 });
  const { transport, model } = await startCoreGateway(t, config);

  await transport.deliver(atmMessage('running'));
  await transport.deliver(atmMessage('queued'));
  await transport.deliver(atmMessage('shed'));
  await committed();
  t.equal(model.runs.length, 1, 'one run in flight; one event queued behind it');

  const decisions = transport.messagesOn('atm/t1/decision');
  t.equal(decisions.length, 1, 'only the shed event is decided, with no time passing');
  t.match(decisions[0], {
    id: 'shed',
    decision: 'review',
    source: 'fallback',
    reason: 'overload',
    latencyMs: 0,
  });

  model.runs[0]!.resolve([0.1]);
  await committed();
  t.equal(model.runs.length, 2, 'the queued event runs next');
  model.runs[1]!.resolve([0.5]);
  await committed();
  t.match(
    transport.messagesOn('atm/t1/decision').map((d) => [d.id, d.decision, d.reason]),
    [
      ['shed', 'review', 'overload'],
      ['running', 'accept', 'ok'],
      ['queued', 'review', 'ok'],
    ],
  );
});
