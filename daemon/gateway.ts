import type { InfergateConfig } from './config.js';
import { answerMessage, type Answer } from './answer.js';
import { ErrorCodes } from './errors.js';
import { sha256Hex } from './event-identity.js';
import { isStale } from './event-time.js';
import { Inbox } from './state/inbox.js';
import { Outbox } from './outbox.js';
import { recoverInbox } from './recovery.js';
import { jobKey, type Job } from './job.js';
import { loadModels } from './load-models.js';
import { planModelSet, restartOnlyChanges } from './model-set.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type { Clock, InboundMessage, Logger, ModelRunner, MqttTransport, PayloadDecoder } from './ports.js';
import { noopMetrics, systemClock, type GatewayMetrics } from './ports.js';
import { readEvent } from './read-event.js';
import { replyTopicFor, replyTopicForStored } from './reply-target.js';
import { Scheduler, type JobOutcome, type LaneStats } from './scheduler.js';

export interface GatewayDeps {
  config: InfergateConfig;
  logger: Logger;
  transport: MqttTransport;
  /** By model name, as configured; loaded by `start()`, disposed by `stop()`. */
  models: ReadonlyMap<string, ModelRunner>;
  decoders: Readonly<Record<InfergateConfig['pipelines'][number]['decoder'], PayloadDecoder>>;
  clock?: Clock;
  /** Defaults to no metrics. */
  metrics?: GatewayMetrics;
}

export interface GatewayCounters {
  received: number;
  redelivered: number;
  /** By reason. */
  decided: Record<string, number>;
}

/** Bound on how long `stop()` waits for in-flight events and unacknowledged publishes, ms. */
const DRAIN_TIMEOUT_MS = 3500;
const RETENTION_SWEEP_MS = 60 * 60 * 1000;
/** A retired model is released after its last event, or after this long at most, ms. */
const RETIRE_TIMEOUT_MS = 60_000;

/**
 * The core: receives events from the transport, records them in the inbox before they are acknowledged,
 * schedules inference, and publishes exactly one decision per event id. Knows adapters only through
 * daemon/ports.ts.
 */
export class Gateway {
  private readonly deps: GatewayDeps;
  private readonly metrics: GatewayMetrics;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly jobs = new Map<string, Job>();
  private pipelines: readonly Pipeline[] = [];
  /** The models in use, by name; replaced as a whole by a reload. */
  private models: ReadonlyMap<string, ModelRunner>;
  /** The config pipelines and models currently run from (the start config until a reload). */
  private active: InfergateConfig;
  private reloading = false;
  private inbox: Inbox | undefined;
  private outbox: Outbox | undefined;
  private scheduler: Scheduler | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  readonly counters: GatewayCounters = {
    received: 0,
    redelivered: 0,
    decided: {},
  };

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.metrics = deps.metrics ?? noopMetrics;
    this.models = deps.models;
    this.active = deps.config;
    this.log = deps.logger.child({ component: 'gateway' });
  }

  get ready(): boolean {
    return this.started && !this.draining && this.deps.transport.state === 'connected';
  }

  /** Per model: events queued and runs in flight (for metrics). Empty until the models are loaded. */
  get queues(): ReadonlyMap<string, LaneStats> {
    return this.scheduler?.stats() ?? new Map();
  }

  /** Opens the state, loads and warms every model, connects, then finishes what a previous run left. */
  async start(): Promise<void> {
    const { config } = this.deps;
    this.inbox = Inbox.open(config.state, {
      keepInput: config.privacy.keepInput,
      onCommitError: (error) =>
        this.log.error(
          { err: error },
          'state database commit failed; its events are answered after a restart',
        ),
      onWalRestart: (heldMs, restarted) => this.metrics.walRestart(heldMs, restarted),
      // The transport calls flush() before a PUBACK can leave (see start() below).
      inserts: 'on-flush',
    });
    this.outbox = new Outbox({
      transport: this.deps.transport,
      inbox: this.inbox,
      logger: this.log,
      clock: this.clock,
      config,
      metrics: this.metrics,
    });
    this.pruneRetention();
    await loadModels(this.deps.models, config.pipelines, this.log, this.metrics);
    this.scheduler = new Scheduler({
      logger: this.log,
      clock: this.clock,
      metrics: this.metrics,
      onOutcome: (job, outcome) => this.onOutcome(job, outcome),
    });
    for (const [name, runner] of this.deps.models) {
      if (config.pipelines.some((p) => p.model === name)) {
        this.scheduler.addModel(runner, config.models[name]!.maxBatch);
      }
    }
    this.pipelines = this.compilePipelines(config, this.deps.models);
    const subscriptions = [...new Set(config.pipelines.map((p) => p.subscribe))];
    const inbox = this.inbox;
    await this.deps.transport.start(
      subscriptions,
      (message) => this.onMessage(message),
      () => inbox.flush(),
    );
    this.recover();
    this.retentionTimer = setInterval(() => this.pruneRetention(), RETENTION_SWEEP_MS).unref();
    this.started = true;
    this.log.info({ pipelines: this.pipelines.map((p) => p.config.name) }, 'gateway ready');
  }

  /**
   * Stops intake, lets in-flight events finish or fall back (each is bounded by its budget), waits for the
   * broker to acknowledge their decisions, then disconnects (publishing `offline`) and releases the models
   * and the state, in reverse order of start. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /**
   * Applies a new config's pipelines and models without dropping or double-answering an event. New or
   * changed models are loaded and warmed before anything switches; then new events go to the new pipelines
   * while events already admitted finish on the old ones, whose models are released once idle. On any
   * failure nothing switches and the error is thrown. Sections that only a restart can change are reported.
   */
  async reload(
    config: InfergateConfig,
    candidates: ReadonlyMap<string, ModelRunner>,
  ): Promise<{ restartNeeded: string[] }> {
    if (!this.started || this.draining) throw new Error('the gateway is not running');
    if (this.reloading) throw new Error('a reload is already in progress');
    this.reloading = true;
    let fresh = new Map<string, ModelRunner>();
    try {
      const plan = await planModelSet({ config: this.active, models: this.models }, { config, candidates });
      fresh = plan.fresh;
      await loadModels(
        fresh,
        config.pipelines.filter((p) => fresh.has(p.model)),
        this.log,
        this.metrics,
      );
      const pipelines = this.compilePipelines(config, plan.models);
      for (const [name, runner] of fresh) this.scheduler!.addModel(runner, config.models[name]!.maxBatch);
      // The switch: one assignment each, between two events.
      this.pipelines = pipelines;
      this.models = plan.models;
      const previous = this.active;
      this.active = config;
      for (const runner of plan.retired) void this.retire(runner);
      await this.deps.transport.setSubscriptions([...new Set(config.pipelines.map((p) => p.subscribe))]);
      const restartNeeded = restartOnlyChanges(this.deps.config, config);
      this.log.info(
        {
          pipelines: pipelines.map((p) => p.config.name),
          modelsLoaded: [...fresh.keys()],
          modelsRetired: plan.retired.length,
          changedPipelines: changedPipelines(previous, config),
        },
        'config reloaded',
      );
      return { restartNeeded };
    } catch (error) {
      await Promise.allSettled([...fresh.values()].map((runner) => runner.dispose()));
      throw error;
    } finally {
      this.reloading = false;
    }
  }

  /** Releases a model no pipeline uses any more, once the events already given to it are answered. */
  private async retire(runner: ModelRunner): Promise<void> {
    await waitFor(() => this.scheduler!.idle(runner), RETIRE_TIMEOUT_MS);
    this.scheduler!.removeModel(runner);
    await runner.dispose();
  }

  private compilePipelines(config: InfergateConfig, models: ReadonlyMap<string, ModelRunner>): Pipeline[] {
    return config.pipelines.map((pipelineConfig) =>
      compilePipeline(
        pipelineConfig,
        models.get(pipelineConfig.model)!,
        this.deps.decoders[pipelineConfig.decoder],
      ),
    );
  }

  private async doStop(): Promise<void> {
    this.draining = true;
    const drainStart = this.clock.monotonic();
    const drained = await waitFor(() => this.jobs.size === 0, DRAIN_TIMEOUT_MS);
    this.scheduler?.close();
    const remaining = Math.max(DRAIN_TIMEOUT_MS - (this.clock.monotonic() - drainStart), 200);
    const published = await waitFor(() => (this.outbox?.inFlight ?? 0) === 0, remaining);
    this.log.info(
      { drained, published, inflight: this.jobs.size, unacked: this.outbox?.inFlight ?? 0 },
      'intake stopped; disconnecting',
    );
    for (const job of this.jobs.values()) clearTimeout(job.deadlineTimer);
    await this.deps.transport.stop();
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    await Promise.allSettled([...this.deps.models.values(), ...this.models.values()].map((m) => m.dispose()));
    await this.inbox?.close();
  }

  // ------------------------------------------------------------------ intake

  /**
   * Runs inside MQTT.js's packet handling, one message at a time: it must only validate, record and queue.
   * The PUBACK goes out when this returns; throwing (a failed inbox write) leaves the message unacknowledged.
   */
  private onMessage(message: InboundMessage): void | Promise<void> {
    const inbox = this.inbox!;
    const receivedAt = this.clock.now();
    const receivedMono = this.clock.monotonic();
    this.counters.received += 1;
    // The PUBACK waits too (the dispatcher awaits this), so the event is still on record before its ack.
    if (!inbox.writable) {
      return inbox.whenWritable().then(() => this.intake(message, receivedAt, receivedMono));
    }
    this.intake(message, receivedAt, receivedMono);
  }

  private intake(message: InboundMessage, receivedAt: number, receivedMono: number): void {
    const inbox = this.inbox!;
    const route = this.route(message.topic);
    if (route === undefined) {
      this.outbox!.deadLetter(
        ErrorCodes.TOPIC_NOT_ALLOWED,
        'no pipeline matches the topic',
        message,
        sha256Hex(message.payload),
        {
          pipeline: null,
          eventId: null,
        },
      );
      return;
    }
    const { pipeline, captures } = route;
    const expiresAt =
      message.messageExpirySec === undefined ? null : receivedAt + message.messageExpirySec * 1000;
    // A decision after the request's own expiry helps nobody: the deadline is the earlier of the two.
    const budgetMs = Math.min(
      pipeline.config.budgetMs,
      expiresAt === null ? Infinity : expiresAt - receivedAt,
    );
    this.metrics.eventReceived(pipeline.config.name);
    const { eventId, sha256, replyTopic, input, eventTime, problem } = readEvent(pipeline, message, captures);
    this.metrics.stageLatency(pipeline.config.name, 'decode', this.clock.monotonic() - receivedMono);
    const event = {
      pipeline: pipeline.config.name,
      eventId,
      topic: message.topic,
      receivedAt,
      deadlineAt: receivedAt + budgetMs,
      expiresAt,
      responseTopic: message.responseTopic ?? null,
      correlation: message.correlationData ?? null,
      payload: message.payload,
      inputSha256: sha256,
    };

    let answer: Answer | undefined;
    if (problem !== undefined) {
      answer = fallbackAnswer(pipeline, 'invalid_input');
      answer.error = problem; // not a spread: see admit()
    } else if (isStale(receivedAt, { receivedAt, eventTime, expiresAt }, pipeline.config.maxEventAgeMs)) {
      // Too old to deserve a model decision (a backlog after a long outage): answered at once, on record.
      answer = fallbackAnswer(pipeline, 'expired');
    }
    if (answer !== undefined) {
      const latencyMs = this.clock.monotonic() - receivedMono;
      const record = this.record(pipeline, eventId, answer, latencyMs, replyTopic);
      // The insert is the idempotency check: an id already on record is a redelivery.
      if (!inbox.insertDecided(event, record)) return this.onRedelivery(pipeline, eventId, message, captures);
      this.noteDecided(pipeline, answer, latencyMs);
      if (problem !== undefined) {
        this.outbox!.deadLetter(problem.code, problem.message, message, sha256, {
          pipeline: pipeline.config.name,
          eventId,
        });
      }
      const outbox = this.outbox!;
      // Published once on record, like every decision (the insert commits with the turn's others).
      inbox.afterCommit(() =>
        outbox.decision(pipeline.config.name, eventId, replyTopic, record.message, event.correlation),
      );
      return;
    }
    if (!inbox.insert(event)) return this.onRedelivery(pipeline, eventId, message, captures);
    if (this.draining) return; // recorded and acknowledged; answered by the next start
    this.admit({
      pipeline,
      eventId,
      chained: { topic: event.topic, receivedAt, inputSha256: sha256 },
      receivedMono,
      deadlineMono: receivedMono + budgetMs,
      input: input!,
      replyTopic,
      correlation: event.correlation,
    });
  }

  private route(topic: string): { pipeline: Pipeline; captures: string[] } | undefined {
    for (const pipeline of this.pipelines) {
      const captures = pipeline.match(topic);
      if (captures !== null) return { pipeline, captures };
    }
    return undefined;
  }

  private admit(admitted: Omit<Job, 'key' | 'answered' | 'deadlineTimer'>): void {
    const key = jobKey(admitted.pipeline.config.name, admitted.eventId);
    // Every field spelled out, dispatchedMono (set later by the scheduler) included: one hidden class for
    // all jobs. On Node 20's V8, an object spread that gets more properties (`{ ...admitted, key }`, or an
    // assignment later) has a map of its own, a new one per object. Those maps stay in old space until the
    // next full GC and make every scavenge promote the young descriptor arrays they point to.
    const job: Job = {
      key,
      pipeline: admitted.pipeline,
      eventId: admitted.eventId,
      chained: admitted.chained,
      receivedMono: admitted.receivedMono,
      deadlineMono: admitted.deadlineMono,
      input: admitted.input,
      replyTopic: admitted.replyTopic,
      correlation: admitted.correlation,
      answered: false,
      deadlineTimer: undefined,
      dispatchedMono: undefined,
    };
    this.jobs.set(key, job);
    this.scheduler!.admit(job);
  }

  /** The same id again: answer from the decision log, never infer twice. */
  private onRedelivery(
    pipeline: Pipeline,
    eventId: string,
    message: InboundMessage,
    captures: string[],
  ): void {
    const stored = this.inbox!.get(pipeline.config.name, eventId);
    if (stored === undefined) return;
    this.counters.redelivered += 1;
    this.metrics.redelivery(pipeline.config.name);
    if (stored.state === 'pending' || stored.message === null) return; // still being decided; one answer follows
    let replyTopic: string | null;
    try {
      replyTopic = replyTopicFor(pipeline, message, captures);
    } catch {
      replyTopic = stored.replyTopic;
    }
    this.log.debug(
      { pipeline: pipeline.config.name, id: stored.eventId },
      'redelivery answered from the log',
    );
    this.outbox!.decision(
      pipeline.config.name,
      stored.eventId,
      replyTopic,
      stored.message,
      message.correlationData ?? stored.correlation,
      stored.state === 'published',
    );
  }

  // ------------------------------------------------------------------ answers

  private onOutcome(job: Job, outcome: JobOutcome): void {
    if (job.answered) return;
    if (!this.inbox!.writable) {
      // A WAL restart, a few milliseconds: the decision goes on record (then out) right after it.
      this.inbox!.whenWritable()
        .then(() => this.onOutcome(job, outcome))
        .catch((error: unknown) =>
          this.log.error({ err: error }, 'could not answer an event after a WAL restart'),
        );
      return;
    }
    job.answered = true;
    clearTimeout(job.deadlineTimer);
    this.jobs.delete(job.key);
    const { pipeline } = job;
    let answer: Answer;
    if (outcome.kind === 'model') {
      try {
        const result = pipeline.rules.decide(outcome.outputs, outcome.offset);
        // No spread: see admit().
        answer = {
          decision: result.decision,
          score: result.score,
          scores: result.scores,
          source: 'model',
          reason: 'ok',
          explanation: outcome.explanation,
        };
        const name = pipeline.config.name;
        if (job.dispatchedMono !== undefined) {
          this.metrics.stageLatency(name, 'queue', job.dispatchedMono - job.receivedMono);
        }
        this.metrics.stageLatency(name, 'inference', outcome.inferenceMs);
      } catch (error) {
        this.log.error(
          { err: error, pipeline: pipeline.config.name },
          'decision rules failed on model output',
        );
        answer = fallbackAnswer(pipeline, 'model_error');
      }
    } else {
      answer = fallbackAnswer(pipeline, outcome.reason);
      if (outcome.reason === 'deadline') {
        this.log.debug({ pipeline: pipeline.config.name, id: job.eventId }, 'deadline reached: fallback');
      }
    }
    const latencyMs = this.clock.monotonic() - job.receivedMono;
    const record = this.record(pipeline, job.eventId, answer, latencyMs, job.replyTopic);
    let first: boolean;
    try {
      first = this.inbox!.decide(pipeline.config.name, job.eventId, record, job.chained);
    } catch (error) {
      // The decision still goes out; the event stays pending and is answered again (same id) after a restart.
      this.log.error({ err: error, pipeline: pipeline.config.name }, 'could not record the decision');
      first = true;
    }
    if (!first) return;
    this.noteDecided(pipeline, answer, latencyMs);
    // Published once the decision is on record, so the log never lags what the world has seen.
    this.inbox!.afterCommit(() =>
      this.outbox!.decision(
        pipeline.config.name,
        job.eventId,
        job.replyTopic,
        record.message,
        job.correlation,
      ),
    );
  }

  private noteDecided(pipeline: Pipeline, answer: Answer, latencyMs: number): void {
    this.counters.decided[answer.reason] = (this.counters.decided[answer.reason] ?? 0) + 1;
    this.metrics.eventDecided(pipeline.config.name, answer.source, answer.reason, latencyMs);
  }

  private record(
    pipeline: Pipeline,
    eventId: string,
    answer: Answer,
    latencyMs: number,
    replyTopic: string | null,
  ) {
    const decidedAt = this.clock.now();
    const message = answerMessage({
      eventId,
      pipeline,
      answer,
      latencyMs,
      decidedAt,
      gatewayId: this.deps.config.gateway.id,
    });
    return {
      decision: answer.decision,
      source: answer.source,
      reason: answer.reason,
      model: pipeline.modelRef.name,
      modelSha256: pipeline.model.info.sha256,
      latencyMs,
      decidedAt,
      message,
      replyTopic,
    };
  }

  // ------------------------------------------------------------------ recovery

  private recover(): void {
    const outbox = this.outbox!;
    const result = recoverInbox({
      inbox: this.inbox!,
      pipelines: this.pipelines,
      clock: this.clock,
      logger: this.log,
      isActive: (pipeline, eventId) => this.jobs.has(jobKey(pipeline, eventId)),
      republish: (stored) =>
        outbox.decision(
          stored.pipeline,
          stored.eventId,
          stored.replyTopic,
          stored.message!,
          stored.correlation,
        ),
      finish: (pipeline, stored, answer) => {
        const age = this.clock.now() - stored.receivedAt;
        const record = this.record(
          pipeline,
          stored.eventId,
          answer,
          age,
          replyTopicForStored(pipeline, stored),
        );
        if (this.inbox!.decide(stored.pipeline, stored.eventId, record)) {
          this.noteDecided(pipeline, answer, age);
          this.inbox!.afterCommit(() =>
            outbox.decision(
              stored.pipeline,
              stored.eventId,
              record.replyTopic,
              record.message,
              stored.correlation,
            ),
          );
        }
      },
      resume: (pipeline, stored, input) => {
        const now = this.clock.now();
        const mono = this.clock.monotonic();
        // The original budget is spent; a recovered event gets a fresh one rather than an instant fallback.
        this.admit({
          pipeline,
          eventId: stored.eventId,
          chained: { topic: stored.topic, receivedAt: stored.receivedAt, inputSha256: stored.inputSha256 },
          receivedMono: mono - (now - stored.receivedAt),
          deadlineMono: mono + pipeline.config.budgetMs,
          input,
          replyTopic: replyTopicForStored(pipeline, stored),
          correlation: stored.correlation,
        });
      },
    });
    if (result.republished + result.resumed + result.expired > 0) {
      this.log.info(result, 'recovered events from the inbox');
    }
  }

  private pruneRetention(): void {
    const cutoff = this.clock.now() - this.deps.config.state.retentionHours * 3600_000;
    const pruned = this.inbox?.prune(cutoff) ?? 0;
    if (pruned > 0) this.log.info({ pruned }, 'pruned decision log rows past retention');
  }
}

export function createGateway(deps: GatewayDeps): Gateway {
  return new Gateway(deps);
}

function changedPipelines(before: InfergateConfig, after: InfergateConfig): string[] {
  const old = new Map(before.pipelines.map((p) => [p.name, JSON.stringify(p)]));
  return after.pipelines.filter((p) => old.get(p.name) !== JSON.stringify(p)).map((p) => p.name);
}

function fallbackAnswer(pipeline: Pipeline, reason: Answer['reason']): Answer {
  return { decision: pipeline.config.fallback, score: null, scores: null, source: 'fallback', reason };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
