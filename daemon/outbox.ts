import type { InfergateConfig } from './config.js';
import type { Inbox } from './state/inbox.js';
import type { Clock, GatewayMetrics, InboundMessage, Logger, MqttTransport } from './ports.js';
import { TokenBucket } from './token-bucket.js';

/** Dead-letter records published at most this many per second on average, and this many at once. */
export const DEAD_LETTERS_PER_SEC = 50;
export const DEAD_LETTER_BURST = 200;
const SUPPRESSED_REPORT_MS = 60_000;

/**
 * Everything the gateway publishes besides its status: decisions (QoS 1, marked `published` in the inbox
 * once the broker acknowledged them) and dead-letter records. Counts what is still unacknowledged so a stop
 * can wait for it.
 */
export class Outbox {
  private readonly transport: MqttTransport;
  private readonly inbox: Inbox;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly config: InfergateConfig;
  private readonly deadLetterTopic: string;
  private readonly metrics: GatewayMetrics;
  private unacknowledged = 0;
  private readonly deadLetterBudget = new TokenBucket(DEAD_LETTERS_PER_SEC, DEAD_LETTER_BURST);
  private suppressedDeadLetters = 0;
  private suppressedReportTimer: NodeJS.Timeout | undefined;
  deadLetters = 0;
  publishFailures = 0;

  constructor(deps: {
    transport: MqttTransport;
    inbox: Inbox;
    logger: Logger;
    clock: Clock;
    config: InfergateConfig;
    metrics: GatewayMetrics;
  }) {
    this.metrics = deps.metrics;
    this.transport = deps.transport;
    this.inbox = deps.inbox;
    this.log = deps.logger;
    this.clock = deps.clock;
    this.config = deps.config;
    this.deadLetterTopic = `infergate/${deps.config.gateway.id}/deadletter`;
  }

  /** Publishes awaiting a broker acknowledgement. */
  get inFlight(): number {
    return this.unacknowledged;
  }

  /**
   * Publishes a stored decision message. When the broker acknowledges it, the row becomes `published`;
   * if not (crash, disconnect), the row stays `decided` and the next start publishes it again, same id.
   */
  decision(
    pipeline: string,
    eventId: string,
    topic: string | null,
    message: string,
    correlation: Buffer | null,
    alreadyPublished = false,
  ): void {
    if (topic === null) return;
    this.unacknowledged += 1;
    const sentAt = this.clock.monotonic();
    const options =
      correlation === null ? { qos: 1 as const } : { qos: 1 as const, correlationData: correlation };
    this.transport.publish(topic, message, options).then(
      () => {
        this.unacknowledged -= 1;
        this.metrics.stageLatency(pipeline, 'publish', this.clock.monotonic() - sentAt);
        if (!alreadyPublished) this.inbox.markPublished(pipeline, eventId);
      },
      (error: unknown) => {
        this.unacknowledged -= 1;
        this.publishFailures += 1;
        this.log.error({ err: error, pipeline, id: eventId }, 'decision publish failed');
      },
    );
  }

  /**
   * A record of a refused event: code, topic, size, sha256; the payload only when privacy allows it.
   * Rate-limited (a flood of garbage must not become a flood of dead letters and log lines); the event
   * itself is still answered `invalid_input`, and what was suppressed is counted and logged once a minute.
   */
  deadLetter(
    code: string,
    reason: string,
    message: InboundMessage,
    sha256: string,
    context: { pipeline: string | null; eventId: string | null },
  ): void {
    this.deadLetters += 1;
    this.metrics.deadLetter(code, message.topic);
    if (!this.deadLetterBudget.take()) {
      this.suppressedDeadLetters += 1;
      this.reportSuppressed();
      return;
    }
    const record: Record<string, unknown> = {
      code,
      reason,
      pipeline: context.pipeline,
      id: context.eventId,
      topic: message.topic,
      size: message.payload.length,
      sha256,
      ts: new Date(this.clock.now()).toISOString(),
      gateway: this.config.gateway.id,
    };
    if (this.config.privacy.deadLetterPayload) record.payloadBase64 = message.payload.toString('base64');
    this.log.warn(
      {
        code,
        pipeline: context.pipeline,
        topic: message.topic,
        size: record.size,
        sha256: sha256.slice(0, 16),
      },
      'event dead-lettered',
    );
    this.transport
      .publish(this.deadLetterTopic, JSON.stringify(record), { qos: 1 })
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'dead-letter publish failed');
      });
  }

  private reportSuppressed(): void {
    if (this.suppressedReportTimer !== undefined) return;
    this.suppressedReportTimer = setTimeout(() => {
      this.suppressedReportTimer = undefined;
      this.log.warn(
        { suppressed: this.suppressedDeadLetters, limitPerSec: DEAD_LETTERS_PER_SEC },
        'dead letters over the rate limit were counted, not published',
      );
      this.suppressedDeadLetters = 0;
    }, SUPPRESSED_REPORT_MS);
    this.suppressedReportTimer.unref();
  }
}
