import t from 'tap';
import pino from 'pino';
import type { PipelineConfig } from '../daemon/config.js';
import { ErrorCodes, ModelError } from '../daemon/errors.js';
import type { Job } from '../daemon/job.js';
import type { Pipeline } from '../daemon/pipeline.js';
import {
  noopMetrics,
  systemClock,
  type ModelInfo,
  type ModelResult,
  type ModelRunner,
} from '../daemon/ports.js';
import { Scheduler } from '../daemon/scheduler.js';
import { reportTo, type SchedulerReport } from './helpers/scheduler-reports.js';

/** An inline model for the scheduler's logic: runNow answers at once with the inputs as outputs. */
class InlineModel implements ModelRunner {
  readonly inputKind = 'tensor' as const;
  readonly concurrency = 1;
  readonly placement = 'inline' as const;
  readonly batches: number[][] = [];
  failWith: Error | null = null;
  readonly info: ModelInfo = {
    name: 'inline',
    runtime: 'test',
    sha256: '0'.repeat(64),
    inputs: [],
    outputs: [],
    inputWidth: 1,
    outputWidth: 1,
    labels: null,
    warmupP50Ms: 0.01,
    warmupP95Ms: 0.02,
  };

  async load(): Promise<ModelInfo> {
    return this.info;
  }

  run(): Promise<ModelResult> {
    return Promise.reject(new Error('an inline lane calls runNow'));
  }

  runNow(input: Float32Array, rows: number): ModelResult {
    if (this.failWith !== null) throw this.failWith;
    this.batches.push([...input]);
    t.equal(input.length, rows);
    return { outputs: Float32Array.from(input), inferenceMs: 0.01 };
  }

  async dispose(): Promise<void> {}
}

function pipeline(name: string, model: ModelRunner): Pipeline {
  return {
    config: { name, budgetMs: 300, maxQueue: 1000 } as PipelineConfig,
    model,
    shadow: null,
    canary: null,
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
    dispatchedMono: undefined,
  };
}

function harness(model: InlineModel, maxBatch: number) {
  const reports: { job: Job; report: SchedulerReport }[] = [];
  const scheduler = new Scheduler({
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    metrics: noopMetrics,
    ...reportTo((j, report) => {
      if (j.answered) throw new Error('an answered job was reported again');
      j.answered = true;
      reports.push({ job: j, report });
    }),
  });
  scheduler.addModel(model, maxBatch);
  return { scheduler, reports };
}

t.test('an inline model decides the turn’s events at runInline(), in batches, without timers', (t) => {
  const model = new InlineModel();
  const { scheduler, reports } = harness(model, 4);
  const a = pipeline('a', model);
  const jobs = Array.from({ length: 10 }, (_, i) => job(a, i));
  for (const j of jobs) scheduler.admit(j);
  t.equal(reports.length, 0, 'nothing runs inside admit');
  t.ok(
    jobs.every((j) => j.deadlineTimer === undefined),
    'no deadline timer armed',
  );
  t.notOk(scheduler.backlogged(model), 'an inline lane is never backed up');
  scheduler.runInline();
  t.equal(reports.length, 10, 'all decided at the barrier');
  t.same(
    model.batches.map((b) => b.length),
    [4, 4, 2],
    'batches of maxBatch',
  );
  t.same(
    reports.map((r) => (r.report.kind === 'model' ? r.report.outputs[r.report.offset] : -1)),
    jobs.map((_, i) => i),
    'each job gets its own row, in order',
  );
  t.ok(scheduler.idle(model), 'idle afterwards');
  t.end();
});

t.test('events admitted outside a turn barrier are run on the next check phase', async (t) => {
  const model = new InlineModel();
  const { scheduler, reports } = harness(model, 8);
  const a = pipeline('a', model);
  scheduler.admit(job(a, 1));
  scheduler.admit(job(a, 2));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(reports.length, 2);
  t.same(model.batches, [[1, 2]], 'one batch');
});

t.test('a run that throws answers its batch with the fallback model_error', (t) => {
  const model = new InlineModel();
  model.failWith = new ModelError(ErrorCodes.MODEL_RUN, 'inference failed');
  const { scheduler, reports } = harness(model, 8);
  const a = pipeline('a', model);
  scheduler.admit(job(a, 1));
  scheduler.admit(job(a, 2));
  scheduler.runInline();
  t.same(
    reports.map((r) => r.report),
    [
      { kind: 'fallback', reason: 'model_error', errorCode: ErrorCodes.MODEL_RUN },
      { kind: 'fallback', reason: 'model_error', errorCode: ErrorCodes.MODEL_RUN },
    ],
  );
  t.end();
});

t.test('a job answered before the barrier (its event redelivered, a stop) is not run', (t) => {
  const model = new InlineModel();
  const { scheduler, reports } = harness(model, 8);
  const a = pipeline('a', model);
  const first = job(a, 1);
  scheduler.admit(first);
  scheduler.admit(job(a, 2));
  first.answered = true;
  scheduler.runInline();
  t.same(model.batches, [[2]]);
  t.equal(reports.length, 1);
  t.end();
});
