/** A shadow model runs on the same events off the critical path: recorded, never published, shed first. */
import t from 'tap';
import { SHADOW_MAX_QUEUE } from '../../daemon/shadow.js';
import { committed, stateDir } from './helpers/core-gateway.js';
import {
  CANDIDATE_SHA,
  deliver,
  rolloutConfig,
  shadowRows,
  startRolloutGateway,
} from './helpers/rollout-gateway.js';

t.test(
  'the live decision goes out while the shadow still runs, unchanged; the shadow is recorded only',
  async (t) => {
    const config = rolloutConfig(stateDir(t), { shadow: 'candidate' });
    const { transport, live, candidate, metrics } = await startRolloutGateway(t, config);

    await deliver(transport, 'e1');
    t.equal(live.runs.length, 1, 'the live model runs the event');
    t.equal(candidate.runs.length, 1, 'the shadow runs it too');
    t.same(
      [...(candidate.runs[0]!.input as Float32Array)],
      [...(live.runs[0]!.input as Float32Array)],
      'on the same row',
    );

    live.runs[0]!.resolve([0.1]);
    await committed();
    const decisions = transport.messagesOn('atm/t1/decision');
    t.equal(decisions.length, 1, 'the live decision is out before the shadow answered');
    t.match(decisions[0], { id: 'e1', decision: 'accept', source: 'model', model: { name: 'atm-risk' } });

    candidate.runs[0]!.resolve([0.95]);
    await committed();
    t.equal(transport.messagesOn('atm/t1/decision').length, 1, 'the shadow decision is never published');
    t.equal(
      transport.published.filter((p) => p.topic.startsWith('atm/')).length,
      1,
      'nothing else published',
    );
    const rows = shadowRows(config);
    t.equal(rows.length, 1);
    t.match(rows[0], {
      eventId: 'e1',
      model: 'candidate',
      modelSha256: CANDIDATE_SHA,
      decision: 'reject',
      score: 0.95,
      liveDecision: 'accept',
      liveSource: 'model',
    });
    t.same(
      metrics.shadowRuns.map((r) => r.result),
      ['disagree'],
      'counted as a disagreement',
    );
    t.ok((metrics.shadowRuns[0]!.latencyMs ?? -1) >= 0, 'with its latency');
  },
);

t.test('a shadow failing or answering first changes nothing live', async (t) => {
  const config = rolloutConfig(stateDir(t), { shadow: 'candidate' });
  const { transport, live, candidate, metrics } = await startRolloutGateway(t, config);

  await deliver(transport, 'first');
  candidate.runs[0]!.resolve([0.1]);
  await committed();
  t.equal(transport.messagesOn('atm/t1/decision').length, 0, 'a shadow answer publishes nothing');
  live.runs[0]!.resolve([0.1]);
  await committed();

  await deliver(transport, 'broken');
  candidate.runs[1]!.reject(new Error('shadow runtime failed'));
  live.runs[1]!.resolve([0.5]);
  await committed();
  t.match(
    transport.messagesOn('atm/t1/decision').map((d) => [d.id, d.decision, d.reason]),
    [
      ['first', 'accept', 'ok'],
      ['broken', 'review', 'ok'],
    ],
  );
  t.same(
    metrics.shadowRuns.map((r) => r.result),
    ['agree', 'error'],
  );
});

t.test('under load the shadow is shed first: a busy live lane skips it', async (t) => {
  const config = rolloutConfig(stateDir(t), { shadow: 'candidate', maxQueue: 10 });
  const { transport, live, candidate, metrics } = await startRolloutGateway(t, config);

  await deliver(transport, 'running');
  await deliver(transport, 'queued-1');
  await deliver(transport, 'queued-2');
  t.equal(live.runs.length, 1, 'one live run; two events wait for it');
  t.equal(candidate.runs.length, 1, 'only the event that found the live lane free was shadowed');
  t.same(
    metrics.shadowRuns.map((r) => r.result),
    ['skipped', 'skipped'],
    'the others are counted skipped',
  );
  live.runs[0]!.resolve([0.1]);
  await committed();
  live.runs[1]!.resolve([0.1]);
  await committed();
  t.equal(transport.messagesOn('atm/t1/decision').length, 3, 'every live decision out');
});

t.test('a full shadow queue skips new shadow runs; live decisions are unaffected', async (t) => {
  const config = rolloutConfig(stateDir(t), { shadow: 'candidate' });
  const { transport, live, candidate, metrics } = await startRolloutGateway(t, config);

  const total = SHADOW_MAX_QUEUE + 5;
  for (let i = 0; i < total; i += 1) {
    await deliver(transport, `e${i}`);
    live.runs[i]!.resolve([0.1]);
    await committed();
  }
  t.equal(transport.messagesOn('atm/t1/decision').length, total, 'every event decided live');
  t.equal(candidate.runs.length, 1, 'the shadow model is stuck on its first run');
  const skipped = metrics.shadowRuns.filter((r) => r.result === 'skipped').length;
  t.equal(skipped, total - 1 - SHADOW_MAX_QUEUE, 'beyond the queue bound, shadow runs are skipped');

  candidate.runs[0]!.resolve([0.1]);
  await committed();
  t.equal(candidate.runs.length, 2, 'the queue drains once the shadow answers');
  t.equal(candidate.runs[1]!.rows, Math.min(32, SHADOW_MAX_QUEUE), 'in batches');
});
