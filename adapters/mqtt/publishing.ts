/**
 * Publishing: every outbound topic validated first (one publish to a wildcard topic gets the client
 * disconnected, and MQTT.js re-sends it first on every reconnect), QoS 1 publishes settled by the broker's
 * PUBACK, and the outbound backlog that holds intake while the broker is not reading what we send.
 */
import type { MqttClient } from 'mqtt';
import { ErrorCodes, MqttError, TopicError } from '../../daemon/errors.js';
import type { PublishOptions } from '../../daemon/ports.js';
import { unpublishableTopic } from './config-check.js';
import { OutboundBacklog } from './outbound-backlog.js';
import type { TransportContext } from './transport-context.js';

/** PUBACK codes after which the same publish may succeed later (MQTT 5 §3.4.2.1); other refusals are final. */
const RETRYABLE_PUBACK_CODES = new Set([0x91, 0x97]);

export class MqttPublisher {
  readonly backlog: OutboundBacklog;
  private readonly context: TransportContext;
  /** Rejecters of the publishes the broker has not acknowledged yet, failed on stop. */
  private readonly pending: Set<(error: Error) => void>;

  constructor(context: TransportContext) {
    this.context = context;
    this.backlog = new OutboundBacklog(context.logger);
    this.pending = new Set();
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    const invalid = unpublishableTopic(topic);
    if (invalid !== null) {
      throw new TopicError(
        ErrorCodes.TOPIC_INVALID,
        `refusing to publish to ${JSON.stringify(topic)}: ${invalid}`,
      );
    }
    const context = this.context;
    if (context.resuming !== undefined) await context.resuming.promise;
    const client = context.client;
    if (client === undefined || context.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_NOT_CONNECTED, 'mqtt transport is not running', {
        retryable: false,
      });
    }
    return this.send(client, topic, payload, options);
  }

  /** Resolves on the PUBACK (QoS 1) or once written (QoS 0); the topic is not checked again. */
  send(client: MqttClient, topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.pending.add(fail);
      const properties =
        this.context.protocolVersion === 5 && options.correlationData !== undefined
          ? { correlationData: options.correlationData }
          : undefined;
      client.publish(
        topic,
        payload,
        { qos: options.qos, retain: options.retain ?? false, properties },
        (error) => {
          this.pending.delete(fail);
          if (!error) {
            resolve();
            return;
          }
          const reasonCode = (error as { code?: unknown }).code;
          const refused = typeof reasonCode === 'number';
          reject(
            new MqttError(
              ErrorCodes.MQTT_PUBLISH,
              refused
                ? `broker refused the publish to ${topic}: ${error.message}`
                : `publish to ${topic} failed: ${error.message}`,
              { retryable: !refused || RETRYABLE_PUBACK_CODES.has(reasonCode), cause: error },
            ),
          );
        },
      );
    });
  }

  /** On stop: what the broker never acknowledged fails retryable (the core may publish it again later). */
  failPending(): void {
    for (const fail of this.pending) {
      fail(
        new MqttError(
          ErrorCodes.MQTT_PUBLISH,
          'mqtt transport stopped before the broker acknowledged the publish',
          {
            retryable: true,
          },
        ),
      );
    }
    this.pending.clear();
  }
}
