import type { InfergateConfig } from './config.js';
import type { FallbackReason } from './decision.js';
import { ErrorCodes, isInfergateError } from './errors.js';
import { Fifo } from './fifo.js';
import type { Job } from './job.js';
import type { Pipeline } from './pipeline.js';
import type {
  Clock,
  GatewayMetrics,
  Logger,
  ModelInput,
  ModelResult,
  ModelRunner,
  TimerHandle,
} from './ports.js';

/** The fallbacks the scheduler itself calls for. */
export type SchedulerFallback = Extract<FallbackReason, 'deadline' | 'overload' | 'model_error'>;

export interface SchedulerDeps {
  logger: Logger;
  /** Deadline timers run on it. */
  clock: Clock;
  metrics: GatewayMetrics;
  /**
   * The model answered: the job's outputs are row `row` of `result`. Like `onFallback`, called only for a
   * job not marked `answered`; the receiver marks it, and acts on the first call it gets for a job.
   */
  onModelOutput: (job: Job, result: ModelResult, row: number) => void;
  /** The job gets the fallback, for `reason`; `errorCode` is the runtime's, when a run failed. */
  onFallback: (job: Job, reason: SchedulerFallback, errorCode?: string) => void;
  /** Given each admitted job of a pipeline with a shadow, with whether its lane is backed up (shadow.ts). */
  shadow?: { offer(job: Job, liveBusy: boolean): void };
}

export interface LaneStats {
  queued: number;
  inflight: number;
  estimateMs: number;
  lateResults: number;
}

/**
 * Deadline-aware admission and dispatch for the models. One lane per model: per-pipeline FIFO queues
 * (a batch never mixes pipelines), at most `runner.concurrency` runs in flight, micro-batches of up to
 * `maxBatch` queued events of one pipeline. An event whose deadline cannot be met is answered `overload`
 * at once instead of waiting; one whose model result is not back by its deadline gets the fallback.
 */
export class Scheduler {
  private readonly deps: SchedulerDeps;
  private readonly lanes = new Map<ModelRunner, ModelLane>();
  private closed = false;

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
  }

  addModel(runner: ModelRunner, maxBatch: number): void {
    if (!this.lanes.has(runner)) this.lanes.set(runner, new ModelLane(runner, maxBatch, this.deps));
  }

  /** True when no event of this model is queued or running. */
  idle(runner: ModelRunner): boolean {
    const lane = this.lanes.get(runner);
    if (lane === undefined) return true;
    const stats = lane.stats();
    return stats.queued === 0 && stats.inflight === 0;
  }

  removeModel(runner: ModelRunner): void {
    this.lanes.delete(runner);
  }

  /** True when events of this model wait in its queue (its runs are all taken). */
  backlogged(runner: ModelRunner): boolean {
    return this.lanes.get(runner)?.backedUp ?? false;
  }

  /**
   * Runs the queued events of every inline model now (see ModelRunner.placement). The transport calls it,
   * through the gateway's durability barrier, right before the turn's state commit: the events that came
   * in this turn are decided in it, and event and decision share the commit.
   */
  runInline(): void {
    for (const lane of this.lanes.values()) if (lane.inline) lane.drain();
  }

  /** Admits a job: starts its deadline timer and queues it, or answers it `overload` at once. */
  admit(job: Job): void {
    // The lane of the model that decides it: the pipeline's, or its canary candidate's.
    const lane = this.lanes.get(job.decider.model);
    if (lane === undefined) throw new Error(`no lane for model of pipeline ${job.pipeline.config.name}`);
    const remaining = job.deadlineMono - this.deps.clock.monotonic();
    if (this.closed || remaining <= 0) {
      this.deps.onFallback(job, remaining <= 0 ? 'deadline' : 'overload');
      return;
    }
    // An inline model decides the job by the end of this turn or the next: no deadline timer to arm and
    // clear (two timer-list operations per event). Anything slower gets one.
    if (!lane.inline) {
      // Whole milliseconds: Node keeps one timer list per distinct duration, and a fractional one would
      // make a list (and a priority-queue insert) per event. Rounding up never fires before the deadline.
      job.deadlineTimer = this.deps.clock.setTimeout(() => this.onDeadline(job), Math.ceil(remaining));
    }
    lane.enqueue(job);
    if (job.pipeline.shadow !== null) this.deps.shadow?.offer(job, job.answered || lane.backedUp);
  }

  stats(): Map<string, LaneStats> {
    const stats = new Map<string, LaneStats>();
    for (const lane of this.lanes.values()) stats.set(lane.runner.info.name, lane.stats());
    return stats;
  }

  inflight(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.stats().inflight + lane.stats().queued;
    return n;
  }

  /** Stops dispatching: queued jobs are left to their deadline timers. */
  close(): void {
    this.closed = true;
  }

  private onDeadline(job: Job): void {
    job.deadlineTimer = undefined;
    if (!job.answered) this.deps.onFallback(job, 'deadline');
  }
}

class ModelLane {
  readonly runner: ModelRunner;
  /** Runs on the event loop (ModelRunner.placement), drained at the end of the turn. */
  readonly inline: boolean;
  private drainScheduled = false;
  private readonly maxBatch: number;
  private readonly deps: SchedulerDeps;
  private readonly queues = new Map<string, Fifo<Job>>();
  private readonly order: string[] = [];
  private nextQueue = 0;
  private queued = 0;
  private running = 0;
  private lateResults = 0;
  /** Expected duration of one run, ms: seeded from the warm-up, then an EWMA of observed runs. */
  private estimateMs: number;

  constructor(runner: ModelRunner, maxBatch: number, deps: SchedulerDeps) {
    this.runner = runner;
    this.maxBatch = maxBatch;
    this.deps = deps;
    this.estimateMs = Math.max(runner.info.warmupP95Ms, 0.05);
    this.inline = runner.placement === 'inline' && runner.runNow !== undefined;
  }

  /** Events wait for a run to free up. An inline lane's queue only ever holds the current turn's events. */
  get backedUp(): boolean {
    return !this.inline && this.queued > 0;
  }

  enqueue(job: Job): void {
    const name = job.pipeline.config.name;
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Fifo<Job>();
      this.queues.set(name, queue);
      this.order.push(name);
    }
    if (queue.length >= job.pipeline.config.maxQueue || !this.canMeet(job, queue.length)) {
      this.deps.onFallback(job, 'overload');
      return;
    }
    queue.push(job);
    this.queued += 1;
    if (!this.inline) this.pump();
    else if (!this.drainScheduled) {
      // Usually the turn's durability barrier drains first (Scheduler.runInline); this covers events
      // admitted outside an inbound turn (recovery, decoded images, a reload).
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Runs everything queued, batch after batch, on this thread. */
  drain(): void {
    this.drainScheduled = false;
    while (this.queued > 0) {
      const batch = this.takeBatch();
      if (batch.length > 0) this.runNow(batch);
    }
  }

  private runNow(batch: Job[]): void {
    const started = this.deps.clock.monotonic();
    for (const job of batch) job.dispatchedMono = started;
    let result: ModelResult;
    try {
      result = this.runner.runNow!(batchInput(batch) as Float32Array, batch.length);
    } catch (error) {
      this.failed(batch, error);
      return;
    }
    this.observe(result.inferenceMs);
    for (let i = 0; i < batch.length; i += 1) {
      const job = batch[i]!;
      if (!job.answered) this.deps.onModelOutput(job, result, i);
    }
  }

  stats(): LaneStats {
    return {
      queued: this.queued,
      inflight: this.running,
      estimateMs: this.estimateMs,
      lateResults: this.lateResults,
    };
  }

  /** Early shedding: would this job, behind `ahead` others, still finish before its deadline? */
  private canMeet(job: Job, ahead: number): boolean {
    const concurrency = this.runner.concurrency;
    // An idle lane always tries: the run may be faster than the estimate, and the deadline timer covers it.
    if (ahead === 0 && this.running < concurrency) return true;
    const busy = this.running >= concurrency ? 1 : 0;
    const rounds = Math.ceil((ahead + 1) / this.maxBatch / concurrency) + busy;
    return this.deps.clock.monotonic() + rounds * this.estimateMs <= job.deadlineMono;
  }

  private pump(): void {
    while (this.running < this.runner.concurrency && this.queued > 0) {
      const batch = this.takeBatch();
      if (batch.length > 0) this.run(batch);
    }
  }

  /** Takes the next batch, round-robin over pipelines, dropping answered jobs and shedding hopeless ones. */
  private takeBatch(): Job[] {
    const batch: Job[] = [];
    for (let tries = 0; tries < this.order.length && batch.length === 0; tries += 1) {
      const name = this.order[this.nextQueue % this.order.length] as string;
      this.nextQueue = (this.nextQueue + 1) % this.order.length;
      const queue = this.queues.get(name) as Fifo<Job>;
      const now = this.deps.clock.monotonic();
      while (queue.length > 0 && batch.length < this.maxBatch) {
        const job = queue.shift() as Job;
        this.queued -= 1;
        if (job.answered) continue;
        // Shed a job that waited too long for a model that normally fits the budget; a model slower than
        // the budget still runs, so its result is logged as late and the deadline fallback stands.
        if (this.estimateMs < job.pipeline.config.budgetMs && now + this.estimateMs > job.deadlineMono) {
          this.deps.onFallback(job, 'overload');
          continue;
        }
        batch.push(job);
      }
    }
    return batch;
  }

  private run(batch: Job[]): void {
    this.running += 1;
    const started = this.deps.clock.monotonic();
    // Every job is answered by its own deadline, so at the latest one the whole batch is moot: a runtime
    // that can stop work (LLM generation) is told, instead of computing for nobody.
    for (const job of batch) job.dispatchedMono = started;
    let abort: AbortController | undefined;
    let abortTimer: TimerHandle | undefined;
    const clock = this.deps.clock;
    if (this.runner.cancellable === true) {
      const controller = new AbortController();
      let latestDeadline = started;
      for (const job of batch) latestDeadline = Math.max(latestDeadline, job.deadlineMono);
      abortTimer = clock.setTimeout(() => controller.abort(), Math.ceil(latestDeadline - started) + 1);
      abort = controller;
    }
    this.runner.run(batchInput(batch), batch.length, abort?.signal).then(
      (result) => {
        clock.clearTimeout(abortTimer);
        // The runtime's own compute time, not the wall time until this callback ran: under load the event
        // loop delays the callback, and feeding that back would shed ever more events (a spiral to overload).
        this.observe(result.inferenceMs);
        for (let i = 0; i < batch.length; i += 1) {
          const job = batch[i]!;
          if (job.answered) {
            this.lateResults += 1;
            this.deps.metrics.lateModelResult(this.runner.info.name);
            this.deps.logger.debug(
              {
                pipeline: job.pipeline.config.name,
                id: job.eventId,
                lateByMs: round(this.deps.clock.monotonic() - job.deadlineMono),
              },
              'late model result dropped: the fallback was already published',
            );
            continue;
          }
          this.deps.onModelOutput(job, result, i);
        }
        this.finishRun();
      },
      (error: unknown) => {
        clock.clearTimeout(abortTimer);
        this.failed(batch, error);
        this.finishRun();
      },
    );
  }

  /** A run failed: every job of the batch not answered yet gets the fallback for the runtime's reason. */
  private failed(batch: readonly Job[], error: unknown): void {
    const errorCode = isInfergateError(error) ? error.code : undefined;
    // A runtime that knows up front it cannot make the budget (an LLM prompt too long for it) says so;
    // a run cancelled by the abort `run` arms ended at the deadline, whichever timer fired first.
    const reason: SchedulerFallback =
      errorCode === ErrorCodes.MODEL_OVERLOAD
        ? 'overload'
        : errorCode === ErrorCodes.MODEL_CANCELLED
          ? 'deadline'
          : 'model_error';
    const unanswered = batch.filter((job) => !job.answered);
    if (unanswered.length === 0 || reason === 'deadline') {
      this.deps.logger.debug(
        { err: error, model: this.runner.info.name, rows: batch.length },
        'model run stopped after its batch was answered',
      );
    } else if (reason === 'overload') {
      this.deps.logger.warn(
        { err: error, model: this.runner.info.name, rows: batch.length },
        'model cannot answer within the budget; answering the batch overload',
      );
    } else {
      this.deps.logger.error(
        { err: error, model: this.runner.info.name, rows: batch.length },
        'model run failed; answering the batch with the fallback',
      );
    }
    for (const job of unanswered) this.deps.onFallback(job, reason, errorCode);
  }

  private finishRun(): void {
    this.running -= 1;
    this.pump();
  }

  private observe(ms: number): void {
    this.estimateMs = this.estimateMs * 0.8 + ms * 0.2;
  }
}

/** Gives every model that decides events of `pipelines` (their own, their canaries') a lane. */
export function addLanes(
  scheduler: Scheduler,
  pipelines: readonly Pipeline[],
  config: InfergateConfig,
): void {
  for (const pipeline of pipelines) {
    scheduler.addModel(pipeline.model, config.models[pipeline.config.model]!.maxBatch);
    const canary = pipeline.canary;
    if (canary !== null)
      scheduler.addModel(canary.candidate.model, config.models[canary.config.model]!.maxBatch);
  }
}

/** One model call's input: tensor rows concatenated row-major, or the prompts in order. */
function batchInput(batch: readonly Job[]): ModelInput {
  const first = batch[0]!.input;
  if (typeof first === 'string') return batch.map((job) => job.input as string);
  const width = first.length;
  const input = new Float32Array(batch.length * width);
  for (let i = 0; i < batch.length; i += 1) input.set(batch[i]!.input as Float32Array, i * width);
  return input;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
