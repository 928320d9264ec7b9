import { decisionMessage } from './decision-message.js';
import { fallbackDecision, modelDecision, type Decision, type FallbackReason } from './decision.js';
import type { InfergateError } from './errors.js';
import type { GatewayCounters } from './gateway-counters.js';
import type { Inbox } from './state/inbox.js';
import type { ChainedEvent, NewEvent, StoredEvent } from './state/types.js';
import type { Job } from './job.js';
import type { Outbox } from './outbox.js';
import type { Pipeline } from './pipeline.js';
import type { Clock, GatewayMetrics, Logger, ModelResult } from './ports.js';
import { replyTopicForStored } from './reply-target.js';
import type { SchedulerFallback } from './scheduler.js';

export interface AnsweringDeps {
  inbox: Inbox;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  counters: GatewayCounters;
  gatewayId: string;
  /** The admitted jobs not decided yet, by key; a job leaves it when decided. */
  jobs: Map<string, Job>;
  /** Told each live decision of a pipeline with a shadow, to compare. */
  shadow?: { liveDecided(job: Job, decision: Decision): void };
}

/**
 * The one way an event gets its decision, whoever made it (the model, a fallback at the deadline or under
 * overload, a refused input, an expired event, a recovery): the decision goes on record in the decision log,
 * first decision wins, and is published once on record, so the log never lags what the world has seen.
 */
export class Answering {
  private readonly deps: AnsweringDeps;
  private readonly inbox: Inbox;
  /** The scheduler's two reports, bound once (they run per event). */
  readonly onModelOutput: (job: Job, result: ModelResult, row: number) => void;
  readonly onFallback: (job: Job, reason: SchedulerFallback) => void;

  constructor(deps: AnsweringDeps) {
    this.deps = deps;
    this.inbox = deps.inbox;
    this.onModelOutput = (job, result, row) => this.modelOutput(job, result, row);
    this.onFallback = (job, reason) => this.fallback(job, reason);
  }

  /** Decides a job from its row of model output, by the pipeline's rules. */
  modelOutput(job: Job, result: ModelResult, row: number): void {
    if (!this.claim(job)) {
      if (!job.answered) this.whenWritable(() => this.modelOutput(job, result, row));
      return;
    }
    const { pipeline, decider } = job;
    const { clock } = this.deps;
    let decision: Decision;
    try {
      const decided = decider.rules.decide(result.outputs, row * decider.model.info.outputWidth);
      const latencyMs = clock.monotonic() - job.receivedMono;
      const explanation = result.explanations?.[row] ?? null;
      decision = modelDecision(decider, decided, explanation, latencyMs, clock.now());
      const name = pipeline.config.name;
      if (job.dispatchedMono !== undefined) {
        this.deps.metrics.stageLatency(name, 'queue', job.dispatchedMono - job.receivedMono);
      }
      this.deps.metrics.stageLatency(name, 'inference', result.inferenceMs);
    } catch (error) {
      this.deps.logger.error(
        { err: error, pipeline: pipeline.config.name },
        'decision rules failed on model output',
      );
      const latencyMs = clock.monotonic() - job.receivedMono;
      decision = fallbackDecision(pipeline, 'model_error', latencyMs, clock.now(), null, decider);
    }
    this.settleJob(job, decision);
  }

  /** Decides a job with the pipeline's fallback. */
  fallback(job: Job, reason: SchedulerFallback): void {
    if (!this.claim(job)) {
      if (!job.answered) this.whenWritable(() => this.fallback(job, reason));
      return;
    }
    if (reason === 'deadline') {
      this.deps.logger.debug(
        { pipeline: job.pipeline.config.name, id: job.eventId },
        'deadline reached: fallback',
      );
    }
    const { clock } = this.deps;
    const latencyMs = clock.monotonic() - job.receivedMono;
    this.settleJob(job, fallbackDecision(job.pipeline, reason, latencyMs, clock.now(), null, job.decider));
  }

  /**
   * Decides a recorded job `invalid_input` (its staged decode failed). Returns false when it already had
   * its decision (the deadline came first).
   */
  refused(job: Job, error: InfergateError): boolean {
    if (!this.claim(job)) {
      if (!job.answered) this.whenWritable(() => this.refused(job, error));
      return false;
    }
    const { clock } = this.deps;
    const latencyMs = clock.monotonic() - job.receivedMono;
    this.settleJob(job, fallbackDecision(job.pipeline, 'invalid_input', latencyMs, clock.now(), error));
    return true;
  }

  /**
   * Decides an event as it arrives (invalid input, expired), recording event and decision at once. Returns
   * false when the event id is already on record (a redelivery), and then records nothing. Throws when the
   * event could not be recorded (its PUBACK must not go out).
   */
  onArrival(
    pipeline: Pipeline,
    event: NewEvent,
    reason: FallbackReason,
    receivedMono: number,
    replyTopic: string | null,
    error: InfergateError | null,
  ): boolean {
    const { clock } = this.deps;
    const decision = fallbackDecision(pipeline, reason, clock.monotonic() - receivedMono, clock.now(), error);
    return this.settle(pipeline, event.eventId, decision, replyTopic, event.correlation, undefined, event);
  }

  /** Decides a recorded event a previous run left pending (expired, or no longer valid input). */
  onRecovered(
    pipeline: Pipeline,
    stored: StoredEvent,
    reason: FallbackReason,
    error: InfergateError | null,
  ): void {
    const now = this.deps.clock.now();
    const decision = fallbackDecision(pipeline, reason, now - stored.receivedAt, now, error);
    const replyTopic = replyTopicForStored(pipeline, stored);
    this.settle(pipeline, stored.eventId, decision, replyTopic, stored.correlation, undefined, undefined);
  }

  /**
   * Takes a job for deciding: false when it is already decided, or when the state cannot be written this
   * moment (a WAL restart, a few milliseconds: the caller comes back once it can).
   */
  private claim(job: Job): boolean {
    if (job.answered || !this.inbox.writable) return false;
    job.answered = true;
    this.deps.clock.clearTimeout(job.deadlineTimer);
    this.deps.jobs.delete(job.key);
    return true;
  }

  private whenWritable(retry: () => void): void {
    this.inbox
      .whenWritable()
      .then(retry)
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error }, 'could not answer an event after a WAL restart'),
      );
  }

  private settleJob(job: Job, decision: Decision): void {
    const { pipeline } = job;
    if (
      !this.settle(pipeline, job.eventId, decision, job.replyTopic, job.correlation, job.chained, undefined)
    ) {
      return;
    }
    if (pipeline.shadow !== null) this.deps.shadow?.liveDecided(job, decision);
    if (job.decider !== pipeline) this.canaryDecided(job, decision);
  }

  /** Holds the canary candidate to its bounds; the first crossing sends new events back to the live model. */
  private canaryDecided(job: Job, decision: Decision): void {
    const canary = job.pipeline.canary!;
    const rollback = canary.observe(
      decision.latencyMs,
      decision.source === 'fallback',
      this.deps.clock.monotonic(),
    );
    if (rollback === null) return;
    const name = job.pipeline.config.name;
    this.deps.metrics.canaryRollback(name, rollback.reason);
    this.deps.logger.warn(
      {
        pipeline: name,
        candidate: canary.candidate.modelRef,
        live: job.pipeline.modelRef,
        reason: rollback.reason,
        events: rollback.events,
        fallbackRate: Math.round(rollback.fallbackRate * 1e4) / 1e4,
        p99Ms: Math.round(rollback.p99Ms * 100) / 100,
        maxFallbackRate: canary.config.maxFallbackRate,
        maxP99Ms: canary.config.maxP99Ms,
      },
      'canary rolled back: the live model decides every new event',
    );
  }

  /**
   * Records `decision` for the event (with the event itself when `arriving` is given), then, once that
   * commits, publishes it. Returns false when the event already had a decision.
   */
  private settle(
    pipeline: Pipeline,
    eventId: string,
    decision: Decision,
    replyTopic: string | null,
    correlation: Buffer | null,
    chained: ChainedEvent | undefined,
    arriving: NewEvent | undefined,
  ): boolean {
    const name = pipeline.config.name;
    const message = decisionMessage(decision, eventId, pipeline, this.deps.gatewayId);
    // Every field spelled out, in one order: one hidden class for every logged decision.
    const logged = {
      decision: decision.decision,
      source: decision.source,
      reason: decision.reason,
      model: decision.model,
      modelSha256: decision.modelSha256,
      latencyMs: decision.latencyMs,
      decidedAt: decision.decidedAt,
      message,
      replyTopic,
    };
    let first: boolean;
    if (arriving !== undefined) {
      // The insert is the idempotency check: an id already on record is a redelivery.
      first = this.inbox.insertDecided(arriving, logged);
    } else {
      try {
        first = this.inbox.decide(name, eventId, logged, chained);
      } catch (error) {
        // The decision still goes out; the event stays pending and is answered again (same id) after a restart.
        this.deps.logger.error({ err: error, pipeline: name }, 'could not record the decision');
        first = true;
      }
    }
    if (!first) return false;
    const { counters, outbox } = this.deps;
    counters.decided[decision.reason] = (counters.decided[decision.reason] ?? 0) + 1;
    this.deps.metrics.eventDecided(name, decision.source, decision.reason, decision.latencyMs);
    // Published once on record (the write commits with the event-loop turn's others).
    this.inbox.afterCommit(() => outbox.decision(name, eventId, replyTopic, message, correlation));
    return true;
  }
}
