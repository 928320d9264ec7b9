/** The same event id again is answered from the decision log: the same message, no second inference. */
import t from 'tap';
import { atmMessage, committed, coreConfig, startCoreGateway, stateDir } from './helpers/core-gateway.js';

t.test('a redelivered id gets the logged decision again, without inference', async (t) => {
  const config = coreConfig(stateDir(t));
  const { gateway, transport, model } = await startCoreGateway(t, config);

  await transport.deliver(atmMessage('tx-7'));
  model.runs[0]!.resolve([0.9]);
  await committed();
  const first = transport.published.filter((p) => p.topic === 'atm/t1/decision');
  t.equal(first.length, 1);
  t.match(JSON.parse(first[0]!.payload), { id: 'tx-7', decision: 'reject', source: 'model', reason: 'ok' });

  t.equal(
    await transport.deliver({ ...atmMessage('tx-7'), dup: true }),
    true,
    'the redelivery is acknowledged',
  );
  await committed();
  const both = transport.published.filter((p) => p.topic === 'atm/t1/decision');
  t.equal(both.length, 2, 'the redelivery is answered');
  t.equal(both[1]!.payload, both[0]!.payload, 'with the logged decision message, byte for byte');
  t.equal(model.runs.length, 1, 'and no second inference');
  t.equal(gateway.counters.redelivered, 1);
  t.same(gateway.counters.decided, { ok: 1 }, 'one decision on record');
});
