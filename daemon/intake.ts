import type { Answering } from './answering.js';
import { ErrorCodes } from './errors.js';
import { sha256Hex } from './event-identity.js';
import { isStale } from './event-time.js';
import type { GatewayCounters } from './gateway-counters.js';
import type { Inbox } from './state/inbox.js';
import type { NewEvent } from './state/types.js';
import { jobKey, type Admission, type Job } from './job.js';
import type { Outbox } from './outbox.js';
import type { Pipeline } from './pipeline.js';
import type { Clock, GatewayMetrics, InboundMessage, Logger } from './ports.js';
import { readEvent } from './read-event.js';
import { replyTopicFor } from './reply-target.js';
import type { Scheduler } from './scheduler.js';
import { DecodeStage } from './decode-stage.js';

export interface IntakeDeps {
  inbox: Inbox;
  outbox: Outbox;
  answering: Answering;
  scheduler: Scheduler;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  counters: GatewayCounters;
  /** The admitted jobs not decided yet, by key (shared with Answering, which removes them). */
  jobs: Map<string, Job>;
}

/**
 * Where events come in: routes a message to its pipeline, reads it, records it in the inbox before its
 * acknowledgement, and admits it to the scheduler, or decides it at once (invalid input, expired). The same
 * id again is answered from the decision log, never inferred twice.
 */
export class Intake {
  private readonly deps: IntakeDeps;
  private readonly inbox: Inbox;
  /** Replaced as a whole by a reload, between two events. */
  pipelines: readonly Pipeline[] = [];
  /** Set by a stop: events are still recorded (and acknowledged), but left for the next start. */
  draining = false;
  /** The transport's message handler, bound once. */
  readonly onMessage: (message: InboundMessage) => void | Promise<void>;
  /** Where events of staged decoders (images) finish decoding, after their acknowledgement. */
  readonly decodes: DecodeStage;

  constructor(deps: IntakeDeps) {
    this.deps = deps;
    this.inbox = deps.inbox;
    this.onMessage = (message) => this.message(message);
    this.decodes = new DecodeStage({
      clock: deps.clock,
      metrics: deps.metrics,
      answering: deps.answering,
      outbox: deps.outbox,
      jobs: deps.jobs,
      admit: (admission) => this.admit(admission),
    });
  }

  /**
   * Runs inside MQTT.js's packet handling, one message at a time: it must only validate, record and queue.
   * The PUBACK goes out when this returns; throwing (a failed inbox write) leaves the message unacknowledged.
   */
  private message(message: InboundMessage): void | Promise<void> {
    const inbox = this.inbox;
    const receivedAt = this.deps.clock.now();
    const receivedMono = this.deps.clock.monotonic();
    this.deps.counters.received += 1;
    // The PUBACK waits too (the dispatcher awaits this), so the event is still on record before its ack.
    if (!inbox.writable) {
      return inbox.whenWritable().then(() => this.intake(message, receivedAt, receivedMono));
    }
    this.intake(message, receivedAt, receivedMono);
  }

  private intake(message: InboundMessage, receivedAt: number, receivedMono: number): void {
    const { clock, metrics, outbox } = this.deps;
    const route = this.route(message.topic);
    if (route === undefined) {
      outbox.deadLetter(
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
    metrics.eventReceived(pipeline.config.name);
    const { eventId, sha256, replyTopic, input, eventTime, fields, problem, decider } = readEvent(
      pipeline,
      message,
      captures,
    );
    // A staged event reports its decode time once its decode completes.
    if (fields === undefined) {
      metrics.stageLatency(pipeline.config.name, 'decode', clock.monotonic() - receivedMono);
    }
    const event: NewEvent = {
      pipeline: pipeline.config.name,
      eventId,
      topic: message.topic,
      receivedAt,
      deadlineAt: receivedAt + budgetMs,
      expiresAt,
      responseTopic: message.responseTopic ?? null,
      correlation: message.correlationData ?? null,
      payload: pipeline.keepsPayload ? message.payload : null,
      inputSha256: sha256,
    };

    if (problem !== undefined) {
      const answering = this.deps.answering;
      if (!answering.onArrival(pipeline, event, 'invalid_input', receivedMono, replyTopic, problem)) {
        return this.redelivery(pipeline, eventId, message, captures);
      }
      outbox.deadLetter(problem.code, problem.message, message, sha256, {
        pipeline: pipeline.config.name,
        eventId,
      });
      return;
    }
    if (isStale(receivedAt, { receivedAt, eventTime, expiresAt }, pipeline.config.maxEventAgeMs)) {
      // Too old to deserve a model decision (a backlog after a long outage): answered at once, on record.
      if (!this.deps.answering.onArrival(pipeline, event, 'expired', receivedMono, replyTopic, null)) {
        this.redelivery(pipeline, eventId, message, captures);
      }
      return;
    }
    if (!this.inbox.insert(event)) return this.redelivery(pipeline, eventId, message, captures);
    if (this.draining) return; // recorded and acknowledged; answered by the next start
    const chained = { topic: event.topic, receivedAt, inputSha256: sha256 };
    const deadlineMono = receivedMono + budgetMs;
    const correlation = event.correlation;
    if (fields !== undefined) {
      const admission = {
        pipeline,
        decider,
        eventId,
        chained,
        receivedMono,
        deadlineMono,
        replyTopic,
        correlation,
      };
      return this.decodes.submit({ admission, fields, message });
    }
    this.admit({
      pipeline,
      decider,
      eventId,
      chained,
      receivedMono,
      deadlineMono,
      input: input!,
      replyTopic,
      correlation,
    });
  }

  private route(topic: string): { pipeline: Pipeline; captures: string[] } | undefined {
    for (const pipeline of this.pipelines) {
      const captures = pipeline.match(topic);
      if (captures !== null) return { pipeline, captures };
    }
    return undefined;
  }

  /** Queues a recorded event for inference; its deadline timer starts now. */
  admit(admitted: Admission): void {
    const key = jobKey(admitted.pipeline.config.name, admitted.eventId);
    // Every field spelled out, dispatchedMono (set later by the scheduler) included: one hidden class for
    // all jobs. On Node 20's V8, an object spread that gets more properties (`{ ...admitted, key }`, or an
    // assignment later) has a map of its own, a new one per object. Those maps stay in old space until the
    // next full GC and make every scavenge promote the young descriptor arrays they point to.
    const job: Job = {
      key,
      pipeline: admitted.pipeline,
      decider: admitted.decider,
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
    this.deps.jobs.set(key, job);
    this.deps.scheduler.admit(job);
  }

  /** The same id again: answer from the decision log, never infer twice. */
  private redelivery(pipeline: Pipeline, eventId: string, message: InboundMessage, captures: string[]): void {
    const stored = this.inbox.get(pipeline.config.name, eventId);
    if (stored === undefined) return;
    this.deps.counters.redelivered += 1;
    this.deps.metrics.redelivery(pipeline.config.name);
    if (stored.state === 'pending' || stored.message === null) return; // still being decided; one answer follows
    let replyTopic: string | null;
    try {
      replyTopic = replyTopicFor(pipeline, message, captures);
    } catch {
      replyTopic = stored.replyTopic;
    }
    this.deps.logger.debug(
      { pipeline: pipeline.config.name, id: stored.eventId },
      'redelivery answered from the log',
    );
    this.deps.outbox.decision(
      pipeline.config.name,
      stored.eventId,
      replyTopic,
      stored.message,
      message.correlationData ?? stored.correlation,
      stored.state === 'published',
    );
  }
}
