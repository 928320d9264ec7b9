/**
 * Hands inbound PUBLISH packets to the core's MessageHandler, one at a time, and answers MQTT.js only when
 * the handler settled: resolved → PUBACK, rejected → no PUBACK. A message left unacknowledged comes back
 * only when the session resumes [MQTT-4.4.0-1], and until then it holds one of the broker's Receive Maximum
 * slots for us [MQTT-3.3.4-9]; so after a rejection the dispatcher asks for a session resume once the
 * inbound stream is quiet, spaced out by a backoff while rejections go on.
 */
import { performance } from 'node:perf_hooks';
import type { IPublishPacket } from 'mqtt';
import type { DurabilityBarrier, InboundMessage, Logger, MessageHandler } from '../../daemon/ports.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';

export interface InboundDispatcherDeps {
  logger: Logger;
  handler: MessageHandler;
  /** Delay between a rejection and the session resume it triggers. */
  backoff: ReconnectBackoff;
  /**
   * Drops and resumes the session so the broker redelivers. Returns false when it cannot now (publishes
   * in flight); it is asked again after a quiet period.
   */
  resumeSession(): boolean;
  /** True while the connection's writes are held until the turn's records are durable (WriteWindow). */
  acksHeld(): boolean;
  /** A PUBACK was written while writes are held (WriteWindow.acknowledged: bounds what one turn holds). */
  acknowledgedHeld(): void;
  /** Makes the handler's records durable; throws when it cannot (see DurabilityBarrier). */
  makeDurable: DurabilityBarrier;
  /** Undefined while the broker reads what we write; else settles when the next event may be handled. */
  whenBrokerReads(): Promise<void> | undefined;
}

/** A session resume waits until no inbound message was in hand for this long, milliseconds. */
export const QUIET_BEFORE_RESUME_MS = 200;

/** MQTT.js's per-packet callback: no argument sends the PUBACK, an error skips it. */
export type PacketDone = (error?: Error) => void;

export class InboundDispatcher {
  private readonly logger: Logger;
  private readonly handler: MessageHandler;
  private readonly backoff: ReconnectBackoff;
  private readonly resumeSession: () => boolean;
  private readonly acksHeld: () => boolean;
  private readonly acknowledgedHeld: () => void;
  private readonly makeDurable: DurabilityBarrier;
  private readonly whenBrokerReads: () => Promise<void> | undefined;
  private tail: Promise<void>;
  /** Messages handed over and not yet answered. */
  private pending: number;
  private lastSettledAt: number;
  private timer: NodeJS.Timeout | undefined;
  private closed: boolean;

  constructor(deps: InboundDispatcherDeps) {
    this.logger = deps.logger;
    this.handler = deps.handler;
    this.backoff = deps.backoff;
    this.resumeSession = deps.resumeSession;
    this.acksHeld = deps.acksHeld;
    this.acknowledgedHeld = deps.acknowledgedHeld;
    this.makeDurable = deps.makeDurable;
    this.whenBrokerReads = deps.whenBrokerReads;
    this.tail = Promise.resolve();
    this.pending = 0;
    this.lastSettledAt = 0;
    this.timer = undefined;
    this.closed = false;
  }

  /**
   * For `client.handleMessage`. `isCurrent` tells whether the connection the packet came on is still the
   * live one when the handler settles.
   */
  dispatch(packet: IPublishPacket, done: PacketDone, isCurrent: () => boolean): void {
    const message = toInboundMessage(packet);
    this.pending += 1;
    if (this.pending === 1) {
      // Nothing else in hand, so nothing left in the chain to wait for. MQTT.js reads no further packet
      // until this one is done: while the broker is not reading, it keeps the events meanwhile.
      const backlog = this.whenBrokerReads();
      if (backlog === undefined) this.handleNow(message, done, isCurrent);
      else this.tail = backlog.then(() => this.handle(message, done, isCurrent));
      return;
    }
    // One at a time even across a reconnect: a new connection's packets wait for a handler still running.
    this.tail = this.tail.then(async () => {
      const backlog = this.whenBrokerReads();
      if (backlog !== undefined) await backlog;
      await this.handle(message, done, isCurrent);
    });
  }

  /** Cancels a pending session resume. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs the handler and answers MQTT.js once it settled. Never rejects (unless `done` throws). */
  private async handle(message: InboundMessage, done: PacketDone, isCurrent: () => boolean): Promise<void> {
    try {
      await this.handler(message);
    } catch (error) {
      this.refuse(message, done, error);
      return;
    }
    this.acknowledge(message, done, isCurrent);
  }

  /**
   * `handle` without a promise when the handler returns synchronously, the common case (it records the
   * event and returns): the chain's promises and microtask hops were a visible cost per event.
   */
  private handleNow(message: InboundMessage, done: PacketDone, isCurrent: () => boolean): void {
    let handled: void | Promise<void>;
    try {
      handled = this.handler(message);
    } catch (error) {
      this.refuse(message, done, error);
      return;
    }
    if (handled === undefined) {
      this.acknowledge(message, done, isCurrent);
      return;
    }
    this.tail = Promise.resolve(handled).then(
      () => this.acknowledge(message, done, isCurrent),
      (error: unknown) => this.refuse(message, done, error),
    );
  }

  /** The handler resolved: PUBACK, once its records are durable. */
  private acknowledge(message: InboundMessage, done: PacketDone, isCurrent: () => boolean): void {
    const held = this.acksHeld();
    try {
      // A PUBACK written now would leave at once (a handler that waited, a turn without inbound data):
      // the record goes on disk first. In a held turn the connection's release does it for the burst.
      if (!held) this.makeDurable();
    } catch (error) {
      this.refuse(message, done, error);
      return;
    }
    this.settled();
    if (message.dup) this.backoff.reset();
    // A PUBACK sent on a newer connection could acknowledge a different message that reuses the packet
    // id; the resumed session redelivers this one instead.
    done(isCurrent() ? undefined : new Error('connection replaced while the message was handled'));
    if (held) this.acknowledgedHeld();
  }

  /** The handler (or the durability barrier) failed: no PUBACK, and a session resume to get it again. */
  private refuse(message: InboundMessage, done: PacketDone, error: unknown): void {
    this.settled();
    this.logger.warn(
      { topic: message.topic, qos: message.qos, dup: message.dup, error: describe(error) },
      'inbound message not acknowledged; the broker redelivers it when the session resumes',
    );
    done(error instanceof Error ? error : new Error(String(error)));
    if (message.qos > 0) this.scheduleResume();
  }

  private settled(): void {
    this.pending -= 1;
    this.lastSettledAt = performance.now();
  }

  private scheduleResume(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => this.tryResume(), this.backoff.next());
  }

  private tryResume(): void {
    this.timer = undefined;
    if (this.closed) return;
    // Messages in hand, or right behind the last one, would be redelivered too: wait for a lull.
    const quiet = this.pending === 0 && performance.now() - this.lastSettledAt >= QUIET_BEFORE_RESUME_MS;
    if (!quiet || !this.resumeSession()) {
      this.timer = setTimeout(() => this.tryResume(), QUIET_BEFORE_RESUME_MS);
    }
  }
}

export function toInboundMessage(packet: IPublishPacket): InboundMessage {
  const properties = packet.properties;
  return {
    topic: packet.topic,
    payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
    qos: packet.qos,
    dup: packet.dup === true,
    responseTopic: properties?.responseTopic,
    correlationData: properties?.correlationData,
    messageExpirySec: properties?.messageExpiryInterval,
  };
}

function describe(error: unknown): { code?: unknown; message: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return code === undefined ? { message: error.message } : { code, message: error.message };
}
