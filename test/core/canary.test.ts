/** A canary candidate decides a stable share of the events and is rolled back when it crosses a bound. */
import t from 'tap';
import { ATM_INPUT_WIDTH, committed, stateDir } from './helpers/core-gateway.js';
import { deliver, reloadModels, rolloutConfig, startRolloutGateway } from './helpers/rollout-gateway.js';
import type { FakeModel } from './helpers/fake-model.js';

/** Answers every run waiting on `model` with `score` per row. */
async function answerAll(model: FakeModel, answered: Set<number>, score = 0.1): Promise<void> {
  model.runs.forEach((run, i) => {
    if (answered.has(i)) return;
    answered.add(i);
    run.resolve(Array.from({ length: run.rows }, () => score));
  });
  await committed();
}

const canary = (overrides: Record<string, unknown> = {}) => ({
  canary: { model: 'candidate', share: 0.5, key: { topicLevel: 1 }, minEvents: 5, ...overrides },
});

t.test('the same terminal always goes to the same model; both models get a share', async (t) => {
  const config = rolloutConfig(stateDir(t), canary());
  const { transport, live, candidate } = await startRolloutGateway(t, config);
  const liveDone = new Set<number>();
  const candidateDone = new Set<number>();
  const terminals = Array.from({ length: 40 }, (_, i) => `term-${i}`);
  for (const round of [0, 1, 2]) {
    for (const terminal of terminals) {
      await deliver(transport, `${terminal}-${round}`, terminal);
      await answerAll(live, liveDone);
      await answerAll(candidate, candidateDone);
    }
  }
  const byTerminal = new Map<string, Set<string>>();
  for (const terminal of terminals) {
    for (const decision of transport.messagesOn(`atm/${terminal}/decision`)) {
      const model = (decision.model as { name: string }).name;
      byTerminal.set(terminal, (byTerminal.get(terminal) ?? new Set()).add(model));
      t.equal(decision.source, 'model');
    }
  }
  t.ok(
    [...byTerminal.values()].every((models) => models.size === 1),
    'every terminal is decided by one model only',
  );
  const onCandidate = [...byTerminal.values()].filter((m) => m.has('candidate')).length;
  t.ok(
    onCandidate > 8 && onCandidate < 32,
    `about half the terminals on the candidate (${onCandidate} of 40)`,
  );
  t.equal(transport.messagesOn('atm/term-0/decision').length, 3, 'one decision per event');
  const sample = [...byTerminal].find(([, m]) => m.has('candidate'))![0];
  t.match(transport.messagesOn(`atm/${sample}/decision`)[0], {
    model: { name: 'candidate', sha256: 'cccccccccccc' },
  });
});

t.test('share 1 with a field key: events without the field stay on the live model', async (t) => {
  const config = rolloutConfig(stateDir(t), canary({ share: 1, key: { field: 'currency' } }));
  const { transport, live, candidate } = await startRolloutGateway(t, config);
  await deliver(transport, 'with-field');
  t.equal(candidate.runs.length, 1, 'the candidate takes it');
  t.equal(live.runs.length, 0);
  candidate.runs[0]!.resolve([0.1]);
  await committed();
  t.match(transport.messagesOn('atm/t1/decision')[0], { id: 'with-field', model: { name: 'candidate' } });
});

t.test('too many candidate fallbacks: rolled back, counted, new events go live', async (t) => {
  const config = rolloutConfig(stateDir(t), canary({ share: 1, maxFallbackRate: 0.2 }));
  const { transport, live, candidate, metrics } = await startRolloutGateway(t, config);
  for (let i = 0; i < 5; i += 1) {
    await deliver(transport, `c${i}`);
    candidate.runs[i]!.reject(new Error('candidate broken'));
    await committed();
  }
  const decided = transport.messagesOn('atm/t1/decision');
  t.equal(decided.length, 5, 'the candidate events were answered with the fallback');
  t.match(decided[0], { reason: 'model_error', source: 'fallback', model: { name: 'candidate' } });
  t.same(metrics.rollbacks, [{ pipeline: 'atm-risk', reason: 'fallback_rate' }], 'one rollback, counted');

  await deliver(transport, 'after');
  t.equal(candidate.runs.length, 5, 'the candidate gets no new event');
  t.equal(live.runs.length, 1, 'the live model does');
  live.runs[0]!.resolve([0.1]);
  await committed();
  t.match(transport.messagesOn('atm/t1/decision')[5], { id: 'after', model: { name: 'atm-risk' } });
});

t.test('a candidate p99 above its bound rolls back after minEvents, not before', async (t) => {
  const config = rolloutConfig(stateDir(t), canary({ share: 1, maxP99Ms: 50 }));
  const { transport, live, candidate, metrics, clock } = await startRolloutGateway(t, config);
  for (let i = 0; i < 4; i += 1) {
    await deliver(transport, `slow${i}`);
    clock.advance(80);
    candidate.runs[i]!.resolve([0.1]);
    await committed();
  }
  t.same(metrics.rollbacks, [], 'four slow decisions are below minEvents');
  await deliver(transport, 'slow4');
  clock.advance(80);
  candidate.runs[4]!.resolve([0.1]);
  await committed();
  t.same(metrics.rollbacks, [{ pipeline: 'atm-risk', reason: 'p99' }], 'the fifth crosses the bound');
  t.equal(
    transport.messagesOn('atm/t1/decision').filter((d) => d.source === 'model').length,
    5,
    'the slow decisions themselves stand',
  );
  await deliver(transport, 'next');
  t.equal(live.runs.length, 1, 'the next event goes live');
});

t.test('a fast, healthy candidate keeps its share', async (t) => {
  const config = rolloutConfig(stateDir(t), canary({ share: 1, maxP99Ms: 50 }));
  const { transport, candidate, metrics, clock } = await startRolloutGateway(t, config);
  for (let i = 0; i < 20; i += 1) {
    await deliver(transport, `ok${i}`);
    clock.advance(5);
    candidate.runs[i]!.resolve([0.1]);
    await committed();
  }
  t.same(metrics.rollbacks, []);
  t.equal(candidate.runs.length, 20);
});

t.test('a reload keeps a rolled-back canary rolled back unless the canary changes', async (t) => {
  const dir = stateDir(t);
  const config = rolloutConfig(dir, canary({ share: 1, maxFallbackRate: 0.2 }));
  const { gateway, transport, candidate, metrics } = await startRolloutGateway(t, config);
  for (let i = 0; i < 5; i += 1) {
    await deliver(transport, `c${i}`);
    candidate.runs[i]!.reject(new Error('candidate broken'));
    await committed();
  }
  t.equal(metrics.rollbacks.length, 1);

  const same = reloadModels();
  await gateway.reload(rolloutConfig(dir, canary({ share: 1, maxFallbackRate: 0.2 })), same.models);
  await deliver(transport, 'after-same-reload');
  t.equal(same.candidate.runs.length, 0, 'the same canary stays rolled back');
  t.equal(same.live.runs.length, 1);
  same.live.runs[0]!.resolve([0.1]);
  await committed();

  const changed = reloadModels();
  await gateway.reload(rolloutConfig(dir, canary({ share: 1, maxFallbackRate: 0.3 })), changed.models);
  await deliver(transport, 'after-new-canary');
  t.equal(changed.candidate.runs.length, 1, 'a changed canary starts afresh');
});

t.test(
  'a reload with a canary of another input width is refused; the running pipeline serves on',
  async (t) => {
    const dir = stateDir(t);
    const { gateway, transport, live, metrics } = await startRolloutGateway(t, rolloutConfig(dir, {}));
    const wide = reloadModels(ATM_INPUT_WIDTH + 4);
    await t.rejects(gateway.reload(rolloutConfig(dir, canary({ share: 1 })), wide.models), {
      code: 'IG_ERR_MODEL_SHAPE',
    });
    t.match(metrics.refusals, [{ model: 'candidate', code: 'IG_ERR_MODEL_SHAPE' }]);
    t.ok(wide.candidate.disposed, 'the refused runners are released');
    await deliver(transport, 'still-live');
    t.equal(live.runs.length, 1, 'the running model still decides');
  },
);
