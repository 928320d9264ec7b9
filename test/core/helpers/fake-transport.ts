/**
 * An in-memory MqttTransport: the test delivers inbound messages (and sees whether they would be
 * acknowledged), and reads what the gateway published. Publishes are acknowledged at once.
 */
import type {
  DurabilityBarrier,
  InboundMessage,
  MessageHandler,
  MqttTransport,
  PublishOptions,
  TransportEvents,
  TransportState,
} from '../../../daemon/ports.js';

export interface Published {
  topic: string;
  payload: string;
  options: PublishOptions;
}

export class FakeTransport implements MqttTransport {
  readonly protocolVersion = 5 as const;
  readonly intakeHolds = 0;
  state: TransportState = 'disconnected';
  readonly published: Published[] = [];
  subscriptions: readonly string[] = [];
  private handler: MessageHandler | undefined;
  private makeDurable: DurabilityBarrier | undefined;

  async start(
    subscriptions: readonly string[],
    onMessage: MessageHandler,
    makeDurable?: DurabilityBarrier,
  ): Promise<void> {
    this.subscriptions = subscriptions;
    this.handler = onMessage;
    this.makeDurable = makeDurable;
    this.state = 'connected';
  }

  async setSubscriptions(subscriptions: readonly string[]): Promise<void> {
    this.subscriptions = subscriptions;
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    this.published.push({ topic, payload: payload.toString(), options });
  }

  on<E extends keyof TransportEvents>(_event: E, _listener: TransportEvents[E]): void {}

  async stop(): Promise<void> {
    this.state = 'stopped';
  }

  /**
   * Hands a message to the gateway as the MQTT transport does; resolves true when its PUBACK would go out
   * (the handler returned and the barrier made it durable), false when it would be withheld.
   */
  async deliver(
    message: Omit<Partial<InboundMessage>, 'payload'> & { topic: string; payload: Buffer | string },
  ): Promise<boolean> {
    if (this.handler === undefined || this.state !== 'connected')
      throw new Error('the transport is not started');
    const inbound: InboundMessage = {
      qos: 1,
      dup: false,
      responseTopic: undefined,
      correlationData: undefined,
      messageExpirySec: undefined,
      ...message,
      payload: Buffer.isBuffer(message.payload) ? message.payload : Buffer.from(message.payload),
    };
    try {
      await this.handler(inbound);
      this.makeDurable?.();
      return true;
    } catch {
      return false;
    }
  }

  /** Parsed JSON of what was published on `topic`, in order. */
  messagesOn(topic: string): Record<string, unknown>[] {
    return this.published
      .filter((p) => p.topic === topic)
      .map((p) => JSON.parse(p.payload) as Record<string, unknown>);
  }
}
