/**
 * How the scheduler answers runs a text model refuses or stops: a prompt that cannot fit the budget is
 * `overload` at once; a run stopped by its abort ended at the deadline.
 */
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

/** A text model that refuses every run with `code`, once its signal fired when `onAbort` is set. */
function refusingModel(code: ModelError['code'], onAbort: boolean): ModelRunner {
  const info: ModelInfo = {
    name: 'llm',
    runtime: 'test',
    sha256: '0'.repeat(64),
    inputs: [],
    outputs: [],
    inputWidth: 0,
    outputWidth: 2,
    labels: ['a', 'b'],
    warmupP50Ms: 1,
    warmupP95Ms: 1,
  };
  return {
    inputKind: 'text',
    concurrency: 1,
    cancellable: true,
    info,
    load: async () => info,
    dispose: async () => {},
    run: (_input, _rows, signal): Promise<ModelResult> =>
      new Promise((_resolve, reject) => {
        const refuse = () => reject(new ModelError(code, 'refused'));
        if (!onAbort) refuse();
        else signal?.addEventListener('abort', refuse, { once: true });
      }),
  };
}

function run(model: ModelRunner, budgetMs: number): Promise<SchedulerReport> {
  return new Promise((resolve) => {
    const scheduler = new Scheduler({
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      metrics: noopMetrics,
      ...reportTo((job, outcome) => {
        if (job.answered) return;
        job.answered = true;
        systemClock.clearTimeout(job.deadlineTimer);
        resolve(outcome);
      }),
    });
    scheduler.addModel(model, 1);
    const now = performance.now();
    const pipeline = {
      config: { name: 'p', budgetMs, maxQueue: 10 } as PipelineConfig,
      model,
    } as unknown as Pipeline;
    const job: Job = {
      key: 'p\u00001',
      pipeline,
      decider: pipeline,
      eventId: '1',
      chained: { topic: 't', receivedAt: Date.now(), inputSha256: '' },
      receivedMono: now,
      deadlineMono: now + budgetMs,
      input: 'prompt',
      replyTopic: null,
      correlation: null,
      answered: false,
      deadlineTimer: undefined,
    };
    scheduler.admit(job);
  });
}

t.test('IG_ERR_MODEL_OVERLOAD: answered overload at once', async (t) => {
  const started = performance.now();
  const outcome = await run(refusingModel(ErrorCodes.MODEL_OVERLOAD, false), 1000);
  t.match(outcome, { kind: 'fallback', reason: 'overload', errorCode: ErrorCodes.MODEL_OVERLOAD });
  t.ok(performance.now() - started < 500, 'without waiting for the deadline');
});

t.test('IG_ERR_MODEL_CANCELLED: the deadline, whichever timer fires first', async (t) => {
  const outcome = await run(refusingModel(ErrorCodes.MODEL_CANCELLED, true), 30);
  t.match(outcome, { kind: 'fallback', reason: 'deadline' });
});

t.test('other run errors stay model_error', async (t) => {
  const outcome = await run(refusingModel(ErrorCodes.MODEL_RUN, false), 1000);
  t.match(outcome, { kind: 'fallback', reason: 'model_error', errorCode: ErrorCodes.MODEL_RUN });
});
