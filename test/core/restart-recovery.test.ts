/**
 * An event recorded and acknowledged but not decided (here: while the gateway was stopping) is finished by
 * the next start on the same state: inferred with a fresh budget, or answered `expired` when too old.
 */
import t from 'tap';
import {
  atmMessage,
  committed,
  coreConfig,
  startCoreGateway,
  stateDir,
  type CoreGateway,
} from './helpers/core-gateway.js';
import { ManualClock } from './helpers/manual-clock.js';

/** Delivers `message` while `first` is stopping: it is recorded and acknowledged, then left for the next start. */
async function leftUnfinished(first: CoreGateway, id: string): Promise<void> {
  const stopped = first.gateway.stop();
  const acked = await first.transport.deliver(atmMessage(id));
  await stopped;
  if (!acked) throw new Error('the event was not acknowledged');
  if (first.model.runs.length !== 0) throw new Error('the event was inferred before the stop');
}

t.test('after a restart, a pending event is inferred and answered once', async (t) => {
  const dir = stateDir(t);
  const clock = new ManualClock();
  const first = await startCoreGateway(t, coreConfig(dir), clock);
  await leftUnfinished(first, 'tx-pending');
  t.same(first.transport.messagesOn('atm/t1/decision'), [], 'not answered before the stop');

  const second = await startCoreGateway(t, coreConfig(dir), clock);
  t.equal(second.model.runs.length, 1, 'the new run infers it');
  clock.advance(299);
  await committed();
  t.same(second.transport.messagesOn('atm/t1/decision'), [], 'with a fresh budget');
  second.model.runs[0]!.resolve([0.9]);
  await committed();
  const decisions = second.transport.messagesOn('atm/t1/decision');
  t.equal(decisions.length, 1, 'answered once');
  t.match(decisions[0], { id: 'tx-pending', decision: 'reject', source: 'model', reason: 'ok' });
});

t.test('after a restart, a pending event older than maxEventAgeMs is answered expired', async (t) => {
  const dir = stateDir(t);
  const clock = new ManualClock();
  const config = coreConfig(dir, { maxEventAgeMs: 10_000 });
  const first = await startCoreGateway(t, config, clock);
  await leftUnfinished(first, 'tx-old');

  clock.advance(10_001);
  const second = await startCoreGateway(t, config, clock);
  await committed();
  t.equal(second.model.runs.length, 0, 'not inferred');
  const decisions = second.transport.messagesOn('atm/t1/decision');
  t.equal(decisions.length, 1, 'answered once');
  t.match(decisions[0], {
    id: 'tx-old',
    decision: 'review',
    source: 'fallback',
    reason: 'expired',
    latencyMs: 10_001,
  });
});
