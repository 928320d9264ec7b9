import { Answering } from './answering.js';
import { compilePipelines, type Decoders } from './compile-pipelines.js';
import type { InfergateConfig } from './config.js';
import { ConfigReload } from './config-reload.js';
import { newGatewayCounters, type GatewayCounters } from './gateway-counters.js';
import { Inbox } from './state/inbox.js';
import { Intake } from './intake.js';
import { jobKey, type Job } from './job.js';
import { loadModels } from './load-models.js';
import { Outbox } from './outbox.js';
import type { Clock, Logger, ModelRunner, MqttTransport } from './ports.js';
import type { ModelInfo } from './ports.js';
import { noopMetrics, systemClock, type GatewayMetrics } from './ports.js';
import { recoverInbox } from './recovery.js';
import { replyTopicForStored } from './reply-target.js';
import { addLanes, Scheduler, type LaneStats } from './scheduler.js';
import { Shadow } from './shadow.js';
import { waitFor } from './wait-for.js';

export type { GatewayCounters } from './gateway-counters.js';

export interface GatewayDeps {
  config: InfergateConfig;
  logger: Logger;
  transport: MqttTransport;
  /** By model name, as configured; loaded by `start()`, disposed by `stop()`. */
  models: ReadonlyMap<string, ModelRunner>;
  decoders: Decoders;
  /** Defaults to the system clock; deadlines run on its timers. */
  clock?: Clock;
  /** Defaults to no metrics. */
  metrics?: GatewayMetrics;
}

/** Bound on how long `stop()` waits for in-flight events and unacknowledged publishes, ms. */
const DRAIN_TIMEOUT_MS = 3500;
const RETENTION_SWEEP_MS = 60 * 60 * 1000;

/** What `start()` builds once the state is open and the models are loaded. */
interface Running {
  scheduler: Scheduler;
  answering: Answering;
  intake: Intake;
  reload: ConfigReload;
  shadow: Shadow;
}

/**
 * The core's lifecycle: receives events from the transport, records them in the inbox before they are
 * acknowledged, schedules inference, and publishes exactly one decision per event id. Knows adapters only
 * through daemon/ports.ts. The work itself is done by Intake (events in), Scheduler (to the models),
 * Answering (decisions out) and ConfigReload (a new config's pipelines and models).
 */
export class Gateway {
  private readonly deps: GatewayDeps;
  private readonly metrics: GatewayMetrics;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Admitted events not decided yet, by job key. */
  private readonly jobs = new Map<string, Job>();
  private inbox: Inbox | undefined;
  private outbox: Outbox | undefined;
  private running: Running | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  readonly counters: GatewayCounters = newGatewayCounters();

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.metrics = deps.metrics ?? noopMetrics;
    this.log = deps.logger.child({ component: 'gateway' });
  }

  get ready(): boolean {
    return this.started && !this.draining && this.deps.transport.state === 'connected';
  }

  /** Per model: events queued and runs in flight (for metrics). Empty until the models are loaded. */
  get queues(): ReadonlyMap<string, LaneStats> {
    return this.running?.scheduler.stats() ?? new Map();
  }

  /** For the status page: the models in use, events awaiting a decision, decisions awaiting the broker. */
  get status(): { models: ReadonlyMap<string, ModelInfo>; undecided: number; unacknowledged: number } {
    const models = new Map<string, ModelInfo>();
    for (const p of this.started ? (this.running?.intake.pipelines ?? []) : [])
      models.set(p.config.model, p.model.info);
    return { models, undecided: this.jobs.size, unacknowledged: this.outbox?.inFlight ?? 0 };
  }

  /** Opens the state, loads and warms every model, connects, then finishes what a previous run left. */
  async start(): Promise<void> {
    const { config, transport } = this.deps;
    const { clock, metrics, log: logger, counters, jobs } = this;
    const inbox = Inbox.open(config.state, {
      keepInput: config.privacy.keepInput,
      onCommitError: (error) =>
        logger.error({ err: error }, 'state database commit failed; its events are answered after a restart'),
      onWalRestart: (heldMs, restarted) => metrics.walRestart(heldMs, restarted),
      // The transport calls flush() before a PUBACK can leave (see below).
      inserts: 'on-flush',
      onMigrated: (migration) => logger.info(migration, 'state database brought up to date'),
    });
    const outbox = new Outbox({ transport, inbox, logger, clock, config, metrics });
    this.inbox = inbox;
    this.outbox = outbox;
    this.pruneRetention(inbox);
    await loadModels(this.deps.models, config.pipelines, logger, metrics);
    const shadow: Shadow = new Shadow({
      inbox,
      clock,
      logger,
      metrics,
      // The scheduler is made below; the shadow asks it only once events flow.
      liveBacklogged: (runner): boolean => scheduler.backlogged(runner),
    });
    const answering = new Answering({
      inbox,
      outbox,
      clock,
      logger,
      metrics,
      counters,
      gatewayId: config.gateway.id,
      jobs,
      shadow,
    });
    const scheduler: Scheduler = new Scheduler({
      logger,
      clock,
      metrics,
      onModelOutput: answering.onModelOutput,
      onFallback: answering.onFallback,
      shadow,
    });
    const intake = new Intake({
      inbox,
      outbox,
      answering,
      scheduler,
      clock,
      logger,
      metrics,
      counters,
      jobs,
    });
    intake.pipelines = compilePipelines(config, this.deps.models, this.deps.decoders);
    addLanes(scheduler, intake.pipelines, config);
    const reload = new ConfigReload({
      startConfig: config,
      models: this.deps.models,
      decoders: this.deps.decoders,
      transport,
      scheduler,
      shadow,
      intake,
      logger,
      metrics,
    });
    this.running = { scheduler, answering, intake, reload, shadow };
    const subscriptions = [...new Set(config.pipelines.map((p) => p.subscribe))];
    // The durability barrier before a turn's PUBACKs leave: decide what inline models can decide now, so
    // those events and their decisions share the one commit, then make the turn's records durable.
    await transport.start(subscriptions, intake.onMessage, () => {
      scheduler.runInline();
      inbox.flush();
    });
    this.recover(inbox, outbox, this.running);
    this.retentionTimer = setInterval(() => this.pruneRetention(inbox), RETENTION_SWEEP_MS).unref();
    this.started = true;
    logger.info({ pipelines: intake.pipelines.map((p) => p.config.name) }, 'gateway ready');
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
   * Applies a new config's pipelines and models without dropping or double-answering an event (see
   * ConfigReload). On any failure nothing switches and the error is thrown. Sections that only a restart
   * can change are reported.
   */
  async reload(
    config: InfergateConfig,
    candidates: ReadonlyMap<string, ModelRunner>,
  ): Promise<{ restartNeeded: string[] }> {
    if (!this.started || this.draining || this.running === undefined) {
      throw new Error('the gateway is not running');
    }
    return this.running.reload.reload(config, candidates);
  }

  private async doStop(): Promise<void> {
    this.draining = true;
    const running = this.running;
    if (running !== undefined) running.intake.draining = true;
    // Real time, like waitFor: the bound is on how long a shutdown takes, whatever clock deadlines run on.
    const drainStart = performance.now();
    const drained = await waitFor(() => this.jobs.size === 0, DRAIN_TIMEOUT_MS);
    running?.scheduler.close();
    const remaining = Math.max(DRAIN_TIMEOUT_MS - (performance.now() - drainStart), 200);
    const unacked = () => this.outbox?.inFlight ?? 0;
    const published = await waitFor(() => unacked() === 0, remaining);
    this.log.info(
      { drained, published, inflight: this.jobs.size, unacked: unacked() },
      'intake stopped; disconnecting',
    );
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    for (const job of this.jobs.values()) this.clock.clearTimeout(job.deadlineTimer);
    await this.deps.transport.stop();
    running?.shadow.close();
    const models = [...this.deps.models.values(), ...(running?.reload.models.values() ?? [])];
    await Promise.allSettled(models.map((m) => m.dispose()));
    await this.inbox?.close();
  }

  /** Finishes what a previous run left in the inbox (see recovery.ts). */
  private recover(inbox: Inbox, outbox: Outbox, { intake, answering }: Running): void {
    const result = recoverInbox({
      inbox,
      pipelines: intake.pipelines,
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
      finish: (pipeline, stored, reason, error) => answering.onRecovered(pipeline, stored, reason, error),
      resume: (pipeline, stored, input) => {
        const now = this.clock.now();
        const mono = this.clock.monotonic();
        // The original budget is spent; a recovered event gets a fresh one rather than an instant fallback.
        intake.admit({
          pipeline,
          // A recovered event has only its topic: a canary keyed by an event field leaves it to the live model.
          decider: pipeline.canary?.route(stored.topic, undefined) ?? pipeline,
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

  private pruneRetention(inbox: Inbox): void {
    const cutoff = this.clock.now() - this.deps.config.state.retentionHours * 3600_000;
    const pruned = inbox.prune(cutoff);
    if (pruned > 0) this.log.info({ pruned }, 'pruned decision log rows past retention');
  }
}

export function createGateway(deps: GatewayDeps): Gateway {
  return new Gateway(deps);
}
