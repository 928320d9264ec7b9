import type { InfergateConfig } from '../config/types.js';
import { answerMessage, type Answer } from './answer.js';
import { MODEL_SHA_PREFIX_LENGTH } from './decision-message.js';
import { ErrorCodes, InputError, isInfergateError, TopicError } from './errors.js';
import { eventIdOf, sha256Hex } from './event-identity.js';
import { Inbox, type StoredEvent } from './inbox.js';
import { jobKey, type Job } from './job.js';
import { compilePipeline, type Pipeline } from './pipeline.js';
import type {
  Clock,
  EventFields,
  InboundMessage,
  Logger,
  ModelRunner,
  MqttTransport,
  PayloadDecoder,
} from './ports.js';
import { systemClock } from './ports.js';
import { replyTopicFor, templateTopic } from './reply-target.js';
import { Scheduler, type JobOutcome } from './scheduler.js';

export interface GatewayDeps {
  config: InfergateConfig;
  logger: Logger;
  transport: MqttTransport;
  /** By model name, as configured; loaded by `start()`, disposed by `stop()`. */
  models: ReadonlyMap<string, ModelRunner>;
  decoders: Readonly<Record<InfergateConfig['pipelines'][number]['decoder'], PayloadDecoder>>;
  clock?: Clock;
}

export interface GatewayCounters {
  received: number;
  redelivered: number;
  decided: Record<string, number>;
  deadLetters: number;
  lateModelResults: number;
  publishFailures: number;
}

/** Bound on how long `stop()` waits for in-flight events and unacknowledged publishes, ms. */
const DRAIN_TIMEOUT_MS = 3500;
const RETENTION_SWEEP_MS = 60 * 60 * 1000;

/**
 * The core: receives events from the transport, records them in the inbox before they are acknowledged,
 * schedules inference, and publishes exactly one decision per event id. Knows adapters only through
 * daemon/ports.ts.
 */
export class Gateway {
  private readonly deps: GatewayDeps;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly jobs = new Map<string, Job>();
  private readonly pipelines: Pipeline[] = [];
  private readonly deadLetterTopic: string;
  private inbox: Inbox | undefined;
  private scheduler: Scheduler | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private publishesInFlight = 0;
  private draining = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  readonly counters: GatewayCounters = {
    received: 0,
    redelivered: 0,
    decided: {},
    deadLetters: 0,
    lateModelResults: 0,
    publishFailures: 0,
  };

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger.child({ component: 'gateway' });
    this.deadLetterTopic = `infergate/${deps.config.gateway.id}/deadletter`;
  }

  get ready(): boolean {
    return this.started && !this.draining && this.deps.transport.state === 'connected';
  }

  /** Opens the state, loads and warms every model, connects, then finishes what a previous run left. */
  async start(): Promise<void> {
    const { config } = this.deps;
    this.inbox = Inbox.open(config.state, { keepInput: config.privacy.keepInput });
    this.pruneRetention();
    await this.loadModels();
    this.scheduler = new Scheduler({
      logger: this.log,
      clock: this.clock,
      onOutcome: (job, outcome) => this.onOutcome(job, outcome),
    });
    for (const [name, runner] of this.deps.models) {
      if (config.pipelines.some((p) => p.model === name)) {
        this.scheduler.addModel(runner, config.models[name]!.maxBatch);
      }
    }
    for (const pipelineConfig of config.pipelines) {
      const runner = this.deps.models.get(pipelineConfig.model)!;
      this.pipelines.push(compilePipeline(pipelineConfig, runner, this.deps.decoders[pipelineConfig.decoder]));
    }
    const subscriptions = [...new Set(config.pipelines.map((p) => p.subscribe))];
    await this.deps.transport.start(subscriptions, (message) => this.onMessage(message));
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

  private async doStop(): Promise<void> {
    this.draining = true;
    const drainStart = this.clock.monotonic();
    const drained = await waitFor(() => this.jobs.size === 0, DRAIN_TIMEOUT_MS);
    this.scheduler?.close();
    const remaining = Math.max(DRAIN_TIMEOUT_MS - (this.clock.monotonic() - drainStart), 200);
    const published = await waitFor(() => this.publishesInFlight === 0, remaining);
    this.log.info(
      { drained, published, inflight: this.jobs.size, unacked: this.publishesInFlight },
      'intake stopped; disconnecting',
    );
    for (const job of this.jobs.values()) clearTimeout(job.deadlineTimer);
    await this.deps.transport.stop();
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    await Promise.allSettled([...this.deps.models.values()].map((m) => m.dispose()));
    this.inbox?.close();
  }

  private async loadModels(): Promise<void> {
    const { config } = this.deps;
    const used = new Set(config.pipelines.map((p) => p.model));
    const results = await Promise.allSettled(
      [...this.deps.models].filter(([name]) => used.has(name)).map(([, runner]) => runner.load()),
    );
    const failure = results.find((r) => r.status === 'rejected');
    if (failure !== undefined) {
      await Promise.allSettled([...this.deps.models.values()].map((m) => m.dispose()));
      throw (failure as PromiseRejectedResult).reason;
    }
    for (const pipeline of config.pipelines) {
      const info = this.deps.models.get(pipeline.model)!.info;
      const fields = {
        pipeline: pipeline.name,
        model: info.name,
        sha256: info.sha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
        p50Ms: round(info.warmupP50Ms),
        p95Ms: round(info.warmupP95Ms),
        budgetMs: pipeline.budgetMs,
      };
      if (info.warmupP95Ms > pipeline.budgetMs) {
        this.log.warn(fields, 'model p95 latency exceeds the pipeline budget: expect fallback decisions');
      } else {
        this.log.info(fields, 'model latency measured against the pipeline budget');
      }
    }
  }

  // ------------------------------------------------------------------ intake

  /**
   * Runs inside MQTT.js's packet handling, one message at a time: it must only validate, record and queue.
   * The PUBACK goes out when this returns; throwing (a failed inbox write) leaves the message unacknowledged.
   */
  private onMessage(message: InboundMessage): void {
    const inbox = this.inbox!;
    const receivedAt = this.clock.now();
    const receivedMono = this.clock.monotonic();
    this.counters.received += 1;
    const route = this.route(message.topic);
    if (route === undefined) {
      this.deadLetter(ErrorCodes.TOPIC_NOT_ALLOWED, 'no pipeline matches the topic', message, undefined);
      return;
    }
    const { pipeline, captures } = route;
    const sha256 = sha256Hex(message.payload);
    let fields: EventFields | undefined;
    let problem: InputError | TopicError | undefined;
    try {
      fields = pipeline.decoder(message.payload);
    } catch (error) {
      problem = asInputProblem(error);
    }
    let eventId: string;
    try {
      eventId = eventIdOf(fields, message.correlationData, sha256);
    } catch (error) {
      problem ??= asInputProblem(error);
      eventId = eventIdOf(undefined, message.correlationData, sha256);
    }

    const existing = inbox.get(pipeline.config.name, eventId);
    if (existing !== undefined) {
      this.onRedelivery(pipeline, existing, message, captures);
      return;
    }

    let replyTopic: string | null = null;
    try {
      replyTopic = replyTopicFor(pipeline, message, captures);
    } catch (error) {
      problem ??= asInputProblem(error);
      replyTopic = safeTemplateTopic(pipeline, captures);
    }
    let row: Float32Array | undefined;
    if (problem === undefined) {
      row = new Float32Array(pipeline.mapping.width);
      try {
        pipeline.mapping.fill(fields!, row, 0);
      } catch (error) {
        problem = asInputProblem(error);
      }
    }

    const event = {
      pipeline: pipeline.config.name,
      eventId,
      topic: message.topic,
      receivedAt,
      deadlineAt: receivedAt + pipeline.config.budgetMs,
      responseTopic: message.responseTopic ?? null,
      correlation: message.correlationData ?? null,
      payload: message.payload,
      inputSha256: sha256,
    };
    if (problem !== undefined) {
      const answer: Answer = {
        decision: pipeline.config.fallback,
        score: null,
        scores: null,
        source: 'fallback',
        reason: 'invalid_input',
        error: problem,
      };
      const record = this.record(pipeline, eventId, answer, this.clock.monotonic() - receivedMono, replyTopic);
      inbox.insertDecided(event, record);
      this.deadLetter(problem.code, problem.message, message, pipeline, eventId, sha256);
      this.publishDecision(pipeline.config.name, eventId, replyTopic, record.message, event.correlation);
      return;
    }
    inbox.insert(event);
    if (this.draining) return; // recorded and acknowledged; answered by the next start
    this.admit(pipeline, eventId, receivedAt, receivedMono, receivedMono + pipeline.config.budgetMs, row!, {
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

  private admit(
    pipeline: Pipeline,
    eventId: string,
    receivedAt: number,
    receivedMono: number,
    deadlineMono: number,
    row: Float32Array,
    reply: { replyTopic: string | null; correlation: Buffer | null },
  ): void {
    const key = jobKey(pipeline.config.name, eventId);
    const job: Job = {
      key,
      pipeline,
      eventId,
      receivedAt,
      receivedMono,
      deadlineMono,
      row,
      replyTopic: reply.replyTopic,
      correlation: reply.correlation,
      answered: false,
      deadlineTimer: undefined,
    };
    this.jobs.set(key, job);
    this.scheduler!.admit(job);
  }

  /** The same id again: answer from the decision log, never infer twice. */
  private onRedelivery(pipeline: Pipeline, stored: StoredEvent, message: InboundMessage, captures: string[]): void {
    this.counters.redelivered += 1;
    if (stored.state === 'pending' || stored.message === null) return; // still being decided; one answer follows
    let replyTopic: string | null;
    try {
      replyTopic = replyTopicFor(pipeline, message, captures);
    } catch {
      replyTopic = stored.replyTopic;
    }
    this.log.debug({ pipeline: pipeline.config.name, id: stored.eventId }, 'redelivery answered from the log');
    this.publishDecision(
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
    if (job.answered) {
      this.counters.lateModelResults += 1;
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
        answer = { ...result, source: 'model', reason: 'ok' };
      } catch (error) {
        this.log.error({ err: error, pipeline: pipeline.config.name }, 'decision rules failed on model output');
        answer = fallbackAnswer(pipeline, 'model_error');
      }
    } else {
      answer = fallbackAnswer(pipeline, outcome.reason);
      if (outcome.reason === 'deadline') {
        this.log.debug({ pipeline: pipeline.config.name, id: job.eventId }, 'deadline reached: fallback');
      }
    }
    const record = this.record(pipeline, job.eventId, answer, this.clock.monotonic() - job.receivedMono, job.replyTopic);
    let first: boolean;
    try {
      first = this.inbox!.decide(pipeline.config.name, job.eventId, record);
    } catch (error) {
      // The decision still goes out; the event stays pending and is answered again (same id) after a restart.
      this.log.error({ err: error, pipeline: pipeline.config.name }, 'could not record the decision');
      first = true;
    }
    if (first) this.publishDecision(pipeline.config.name, job.eventId, job.replyTopic, record.message, job.correlation);
  }

  private record(pipeline: Pipeline, eventId: string, answer: Answer, latencyMs: number, replyTopic: string | null) {
    const decidedAt = this.clock.now();
    const message = answerMessage({
      eventId,
      pipeline,
      answer,
      latencyMs,
      decidedAt,
      gatewayId: this.deps.config.gateway.id,
    });
    this.counters.decided[answer.reason] = (this.counters.decided[answer.reason] ?? 0) + 1;
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

  private publishDecision(
    pipeline: string,
    eventId: string,
    topic: string | null,
    message: string,
    correlation: Buffer | null,
    alreadyPublished = false,
  ): void {
    if (topic === null) return;
    this.publishesInFlight += 1;
    const options = correlation === null ? { qos: 1 as const } : { qos: 1 as const, correlationData: correlation };
    this.deps.transport.publish(topic, message, options).then(
      () => {
        this.publishesInFlight -= 1;
        if (!alreadyPublished) this.inbox!.markPublished(pipeline, eventId);
      },
      (error: unknown) => {
        // The row stays `decided`: the next start publishes it again under the same id.
        this.publishesInFlight -= 1;
        this.counters.publishFailures += 1;
        this.log.error({ err: error, pipeline, id: eventId }, 'decision publish failed');
      },
    );
  }

  private deadLetter(
    code: string,
    reason: string,
    message: InboundMessage,
    pipeline: Pipeline | undefined,
    eventId?: string,
    sha256 = sha256Hex(message.payload),
  ): void {
    this.counters.deadLetters += 1;
    const record: Record<string, unknown> = {
      code,
      reason,
      pipeline: pipeline?.config.name ?? null,
      id: eventId ?? null,
      topic: message.topic,
      size: message.payload.length,
      sha256,
      ts: new Date(this.clock.now()).toISOString(),
      gateway: this.deps.config.gateway.id,
    };
    if (this.deps.config.privacy.deadLetterPayload) record.payloadBase64 = message.payload.toString('base64');
    this.log.warn(
      { code, pipeline: record.pipeline, topic: message.topic, size: record.size, sha256: sha256.slice(0, 16) },
      'event dead-lettered',
    );
    this.deps.transport.publish(this.deadLetterTopic, JSON.stringify(record), { qos: 1 }).catch((error: unknown) => {
      this.log.error({ err: error }, 'dead-letter publish failed');
    });
  }

  // ------------------------------------------------------------------ recovery

  /** Finishes what a previous run left: re-publishes decided rows, infers or expires pending ones. */
  private recover(): void {
    const inbox = this.inbox!;
    const unpublished = inbox.unpublished();
    for (const row of unpublished) {
      this.publishDecision(row.pipeline, row.eventId, row.replyTopic, row.message!, row.correlation);
    }
    let resumed = 0;
    let expired = 0;
    const pending = inbox.pending();
    for (const row of pending) {
      const key = jobKey(row.pipeline, row.eventId);
      if (this.jobs.has(key)) continue;
      const pipeline = this.pipelines.find((p) => p.config.name === row.pipeline);
      if (pipeline === undefined) {
        this.log.warn({ pipeline: row.pipeline, id: row.eventId }, 'pending event of a removed pipeline left as is');
        continue;
      }
      const now = this.clock.now();
      const mono = this.clock.monotonic();
      const receivedMono = mono - (now - row.receivedAt);
      if (now - row.receivedAt > pipeline.config.maxEventAgeMs || row.payload === null) {
        expired += 1;
        const answer = fallbackAnswer(pipeline, 'expired');
        const record = this.record(pipeline, row.eventId, answer, now - row.receivedAt, row.replyTopic ?? this.storedReplyTopic(pipeline, row));
        if (inbox.decide(row.pipeline, row.eventId, record)) {
          this.publishDecision(row.pipeline, row.eventId, record.replyTopic, record.message, row.correlation);
        }
        continue;
      }
      const rowData = new Float32Array(pipeline.mapping.width);
      try {
        pipeline.mapping.fill(pipeline.decoder(row.payload), rowData, 0);
      } catch (error) {
        // The pipeline's mapping changed since the event was accepted.
        const answer: Answer = { ...fallbackAnswer(pipeline, 'invalid_input'), error: asInputProblem(error) };
        const record = this.record(pipeline, row.eventId, answer, now - row.receivedAt, this.storedReplyTopic(pipeline, row));
        if (inbox.decide(row.pipeline, row.eventId, record)) {
          this.publishDecision(row.pipeline, row.eventId, record.replyTopic, record.message, row.correlation);
        }
        continue;
      }
      resumed += 1;
      // The original budget is spent; a recovered event gets a fresh one rather than an instant fallback.
      this.admit(pipeline, row.eventId, row.receivedAt, receivedMono, mono + pipeline.config.budgetMs, rowData, {
        replyTopic: this.storedReplyTopic(pipeline, row),
        correlation: row.correlation,
      });
    }
    if (unpublished.length > 0 || pending.length > 0) {
      this.log.info({ republished: unpublished.length, resumed, expired }, 'recovered events from the inbox');
    }
  }

  private storedReplyTopic(pipeline: Pipeline, row: StoredEvent): string | null {
    const message: InboundMessage = {
      topic: row.topic,
      payload: Buffer.alloc(0),
      qos: 1,
      dup: false,
      responseTopic: row.responseTopic ?? undefined,
      correlationData: row.correlation ?? undefined,
      messageExpirySec: undefined,
    };
    try {
      return replyTopicFor(pipeline, message, pipeline.match(row.topic) ?? []);
    } catch {
      return null;
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

function fallbackAnswer(pipeline: Pipeline, reason: Answer['reason']): Answer {
  return { decision: pipeline.config.fallback, score: null, scores: null, source: 'fallback', reason };
}

function asInputProblem(error: unknown): InputError | TopicError {
  if (error instanceof InputError || error instanceof TopicError) return error;
  // Anything else is a decoder or mapping fault: the event is still answered, never left unacknowledged.
  const message = isInfergateError(error) ? error.message : 'the event could not be decoded';
  return new InputError(ErrorCodes.INPUT_FIELD_INVALID, message, undefined, { cause: error });
}

function safeTemplateTopic(pipeline: Pipeline, captures: string[]): string | null {
  try {
    return templateTopic(pipeline, captures);
  } catch {
    return null;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
