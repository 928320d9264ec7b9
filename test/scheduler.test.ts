import t from 'tap';
import pino from 'pino';
import type { PipelineConfig } from '../daemon/config.js';
import type { Job } from '../daemon/job.js';
import type { Pipeline } from '../daemon/pipeline.js';
import {
  noopMetrics,
  systemClock,
  type ModelInfo,
  type ModelInput,
  type ModelResult,
  type ModelRunner,
} from '../daemon/ports.js';
import { Scheduler } from '../daemon/scheduler.js';
import { reportTo, type SchedulerReport } from './helpers/scheduler-reports.js';

/**
 * A scripted model for the scheduler's own logic (the real runtimes are exercised by the integration
 * tests): each run resolves after `delayMs` with the row index as output.
 */
class ScriptedModel implements ModelRunner {
  readonly inputKind = 'tensor' as const;
  readonly concurrency: number;
  readonly calls: { rows: number; pipelineTags: number[]; startedAt: number }[] = [];
  info: ModelInfo;
  delayMs: number;

  constructor(concurrency: number, delayMs: number) {
    this.concurrency = concurrency;
    this.delayMs = delayMs;
    this.info = {
      name: 'scripted',
      runtime: 'test',
      sha256: '0'.repeat(64),
      inputs: [],
      outputs: [],
      inputWidth: 1,
      outputWidth: 1,
      labels: null,
      warmupP50Ms: delayMs,
      warmupP95Ms: delayMs,
    };
  }

  async load(): Promise<ModelInfo> {
    return this.info;
  }

  run(modelInput: ModelInput, rows: number): Promise<ModelResult> {
    const input = modelInput as Float32Array;
    this.calls.push({ rows, pipelineTags: [...input], startedAt: performance.now() });
    return new Promise((resolve) =>
      setTimeout(
        () => resolve({ outputs: Float32Array.from(input), inferenceMs: this.delayMs }),
        this.delayMs,
      ),
    );
  }

  async dispose(): Promise<void> {}
}

function pipeline(name: string, model: ModelRunner, budgetMs: number, maxQueue = 1000): Pipeline {
  return {
    config: { name, budgetMs, maxQueue } as PipelineConfig,
    model,
    modelRef: { name: 'scripted', sha256: '000000000000' },
    decoder: () => ({}),
    encode: () => Float32Array.of(0),
    rules: { decide: () => ({ decision: 'x', score: 0, scores: null }) },
    match: () => null,
  } as unknown as Pipeline;
}

let seq = 0;
function job(p: Pipeline, tag: number): Job {
  const now = performance.now();
  seq += 1;
  return {
    key: `${p.config.name}-${seq}`,
    pipeline: p,
    decider: p,
    eventId: String(seq),
    chained: { topic: 't', receivedAt: Date.now(), inputSha256: '' },
    receivedMono: now,
    deadlineMono: now + p.config.budgetMs,
    input: Float32Array.of(tag),
    replyTopic: null,
    correlation: null,
    answered: false,
    deadlineTimer: undefined,
  };
}

function harness(model: ScriptedModel, maxBatch: number) {
  const outcomes: { job: Job; outcome: SchedulerReport; at: number }[] = [];
  const scheduler = new Scheduler({
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    metrics: noopMetrics,
    ...reportTo((j, outcome) => {
      if (j.answered) throw new Error('an answered job was reported again');
      j.answered = true;
      systemClock.clearTimeout(j.deadlineTimer);
      outcomes.push({ job: j, outcome, at: performance.now() });
    }),
  });
  scheduler.addModel(model, maxBatch);
  return { scheduler, outcomes };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('queued events are micro-batched, and a batch never mixes pipelines', async (t) => {
  const model = new ScriptedModel(1, 20);
  const { scheduler, outcomes } = harness(model, 8);
  const a = pipeline('a', model, 1000);
  const b = pipeline('b', model, 1000);
  for (let i = 0; i < 10; i += 1) {
    scheduler.admit(job(a, 1));
    scheduler.admit(job(b, 2));
  }
  await settle(300);
  t.equal(outcomes.length, 20, 'every job answered once');
  t.ok(
    outcomes.every((o) => o.outcome.kind === 'model'),
    'all by the model',
  );
  for (const call of model.calls) {
    t.equal(new Set(call.pipelineTags).size, 1, `a batch of ${call.rows} holds one pipeline`);
    t.ok(call.rows <= 8, 'batch bounded by maxBatch');
  }
  t.ok(
    model.calls.some((c) => c.rows > 1),
    'events that queued up ran as a batch',
  );
  t.equal(model.calls[0]?.rows, 1, 'the first event, on an idle lane, ran alone without waiting');
});

t.test('batching never delays an event past its deadline', async (t) => {
  const model = new ScriptedModel(1, 30);
  const { scheduler, outcomes } = harness(model, 16);
  const tight = pipeline('tight', model, 50);
  for (let i = 0; i < 12; i += 1) scheduler.admit(job(tight, 1));
  await settle(400);
  t.equal(outcomes.length, 12, 'every job answered exactly once');
  for (const { job: j, at } of outcomes) {
    t.ok(
      at <= j.deadlineMono + 15,
      `answered by its deadline (+timer slack): ${Math.round(at - j.deadlineMono)} ms`,
    );
  }
  const reasons = new Set(outcomes.map((o) => (o.outcome.kind === 'model' ? 'model' : o.outcome.reason)));
  t.ok(reasons.has('model'), 'some fit the budget');
});

t.test('a full queue answers overload at once', async (t) => {
  const model = new ScriptedModel(1, 50);
  const { scheduler, outcomes } = harness(model, 1);
  const p = pipeline('p', model, 10_000, 3);
  for (let i = 0; i < 10; i += 1) scheduler.admit(job(p, 1));
  const immediate = outcomes.filter((o) => o.outcome.kind === 'fallback' && o.outcome.reason === 'overload');
  t.equal(
    immediate.length,
    6,
    'one running + 3 queued are admitted; the other 6 are answered overload at once',
  );
  await settle(400);
  t.equal(outcomes.length, 10);
});

t.test(
  'a model slower than the budget: fallback at the deadline, the late result is not a second answer',
  async (t) => {
    const model = new ScriptedModel(1, 120);
    const { scheduler, outcomes } = harness(model, 4);
    const p = pipeline('p', model, 40);
    scheduler.admit(job(p, 1));
    await settle(80);
    t.equal(outcomes.length, 1);
    t.match(outcomes[0]?.outcome, { kind: 'fallback', reason: 'deadline' });
    await settle(150);
    t.equal(outcomes.length, 1, 'still exactly one answer');
    t.equal(scheduler.stats().get('scripted')?.lateResults, 1, 'the late model result was seen and dropped');
  },
);
