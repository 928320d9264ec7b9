import type { Decider } from './decider.js';
import type { Decision } from './decision.js';
import { Fifo } from './fifo.js';
import type { Job } from './job.js';
import type { Clock, GatewayMetrics, Logger, ModelRunner, ShadowResult } from './ports.js';
import type { Inbox } from './state/inbox.js';

/** Shadow runs waiting per shadow model; beyond it a new event is not shadowed (counted `skipped`). */
export const SHADOW_MAX_QUEUE = 256;
/** Rows per shadow model call. */
const SHADOW_MAX_BATCH = 32;

export interface ShadowDeps {
  inbox: Inbox;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  /** True while the live lane of `runner` has events waiting: then shadow runs are shed first. */
  liveBacklogged: (runner: ModelRunner) => boolean;
}

/** One event given to its pipeline's shadow; compared once both decisions are known. */
interface ShadowRun {
  job: Job;
  decider: Decider;
  /** Set when the live decision came first. */
  live: Decision | undefined;
  /** Set when the shadow decision came first. */
  shadow: string | undefined;
  /** Arrival → shadow decision, ms, once decided. */
  latencyMs: number | null;
}

/**
 * Shadow models: run on the events of their pipeline off the critical path. A shadow run starts only while
 * the live model has nothing waiting, from a bounded queue of its own, and is shed (counted `skipped`) the
 * moment the live lane backs up or that queue is full: it never delays the live decision, and nothing it
 * does (an error included) reaches it. Its decision, by the pipeline's rules on the shadow model's output,
 * is recorded next to the live one (`shadow_decisions`) and never published.
 */
export class Shadow {
  private readonly deps: ShadowDeps;
  private readonly lanes = new Map<ModelRunner, ShadowLane>();
  /** Runs whose comparison waits for one of the two decisions, by job key. */
  private readonly pending = new Map<string, ShadowRun>();
  private closed = false;

  constructor(deps: ShadowDeps) {
    this.deps = deps;
  }

  /** A job of a pipeline with a shadow was admitted; `liveBusy`: its live lane is backed up. */
  offer(job: Job, liveBusy: boolean): void {
    const decider = job.pipeline.shadow!;
    if (this.closed || liveBusy || job.answered || typeof job.input === 'string') {
      this.skipped(job);
      return;
    }
    let lane = this.lanes.get(decider.model);
    if (lane === undefined) {
      lane = new ShadowLane(decider.model, this);
      this.lanes.set(decider.model, lane);
    }
    if (lane.queue.length >= SHADOW_MAX_QUEUE) {
      this.skipped(job);
      return;
    }
    const run: ShadowRun = { job, decider, live: undefined, shadow: undefined, latencyMs: null };
    this.pending.set(job.key, run);
    lane.queue.push(run);
    lane.pump();
  }

  /** The live decision of a job with a shadow. */
  liveDecided(job: Job, decision: Decision): void {
    const run = this.pending.get(job.key);
    if (run === undefined || run.job !== job) return;
    if (run.shadow === undefined) run.live = decision;
    else this.compare(run, decision, run.shadow);
  }

  /** True when no shadow run of this model is queued or running. */
  idle(runner: ModelRunner): boolean {
    const lane = this.lanes.get(runner);
    return lane === undefined || (lane.queue.length === 0 && lane.running === 0);
  }

  /** Stops starting and recording shadow runs (the state closes next). */
  close(): void {
    this.closed = true;
  }

  /** @internal for ShadowLane: whether the run may still start now. */
  mayStart(run: ShadowRun): boolean {
    if (!this.closed && !this.deps.liveBacklogged(run.job.pipeline.model)) return true;
    this.drop(run, 'skipped');
    return false;
  }

  /** @internal for ShadowLane: the shadow model answered `run`, row `row` of `outputs`. */
  answered(run: ShadowRun, outputs: Float32Array, row: number): void {
    const { job, decider } = run;
    const name = job.pipeline.config.name;
    const { clock } = this.deps;
    let decided;
    try {
      decided = decider.rules.decide(outputs, row * decider.model.info.outputWidth);
    } catch (error) {
      this.failed(run, error);
      return;
    }
    const latencyMs = clock.monotonic() - job.receivedMono;
    run.latencyMs = latencyMs;
    try {
      this.deps.inbox.recordShadow({
        pipeline: name,
        eventId: job.eventId,
        model: decider.modelRef.name,
        modelSha256: decider.model.info.sha256,
        decision: decided.decision,
        score: decided.score,
        latencyMs,
        decidedAt: clock.now(),
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, pipeline: name }, 'could not record a shadow decision');
    }
    if (run.live === undefined) run.shadow = decided.decision;
    else this.compare(run, run.live, decided.decision);
  }

  /** @internal for ShadowLane: the shadow model's run failed. */
  failed(run: ShadowRun, error: unknown): void {
    if (!this.closed) {
      this.deps.logger.warn(
        { err: error, pipeline: run.job.pipeline.config.name, model: run.decider.modelRef.name },
        'shadow run failed; the live decision is unaffected',
      );
    }
    this.drop(run, 'error');
  }

  private compare(run: ShadowRun, live: Decision, shadow: string): void {
    this.pending.delete(run.job.key);
    // Agreement is about the models: a live fallback (deadline, overload) says nothing either way.
    const result: ShadowResult =
      live.source !== 'model' ? 'skipped' : live.decision === shadow ? 'agree' : 'disagree';
    this.deps.metrics.shadowRun(run.job.pipeline.config.name, result, run.latencyMs);
  }

  private drop(run: ShadowRun, result: ShadowResult): void {
    this.pending.delete(run.job.key);
    this.deps.metrics.shadowRun(run.job.pipeline.config.name, result, null);
  }

  private skipped(job: Job): void {
    this.deps.metrics.shadowRun(job.pipeline.config.name, 'skipped', null);
  }
}

/** The queue and the runs in flight of one shadow model. */
class ShadowLane {
  readonly queue = new Fifo<ShadowRun>();
  running = 0;
  private readonly runner: ModelRunner;
  private readonly shadow: Shadow;

  constructor(runner: ModelRunner, shadow: Shadow) {
    this.runner = runner;
    this.shadow = shadow;
  }

  pump(): void {
    while (this.running < this.runner.concurrency && this.queue.length > 0) {
      const batch: ShadowRun[] = [];
      while (this.queue.length > 0 && batch.length < SHADOW_MAX_BATCH) {
        const run = this.queue.shift()!;
        if (this.shadow.mayStart(run)) batch.push(run);
      }
      if (batch.length > 0) this.run(batch);
    }
  }

  private run(batch: ShadowRun[]): void {
    this.running += 1;
    const width = this.runner.info.inputWidth;
    const input = new Float32Array(batch.length * width);
    for (let i = 0; i < batch.length; i += 1) input.set(batch[i]!.job.input as Float32Array, i * width);
    const done = () => {
      this.running -= 1;
      this.pump();
    };
    this.runner.run(input, batch.length).then(
      (result) => {
        for (let i = 0; i < batch.length; i += 1) this.shadow.answered(batch[i]!, result.outputs, i);
        done();
      },
      (error: unknown) => {
        for (const run of batch) this.shadow.failed(run, error);
        done();
      },
    );
  }
}
