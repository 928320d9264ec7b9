/**
 * The transport's subscriptions: all of them on every connect, session or not (a broker that lost the
 * session also lost the subscriptions), and a config reload's changes while connected.
 */
import type { MqttClient } from 'mqtt';
import { ErrorCodes, MqttError } from '../../daemon/errors.js';
import type { TransportContext } from './transport-context.js';

export class MqttSubscriptions {
  private readonly context: TransportContext;
  private filters: readonly string[];

  constructor(context: TransportContext) {
    this.context = context;
    this.filters = [];
  }

  /** The list every later connect subscribes. */
  use(filters: readonly string[]): void {
    this.filters = [...filters];
  }

  /**
   * Subscribes the whole list (QoS 1). Rejects with a non-retryable MqttError when the broker refuses a
   * filter or MQTT.js calls one invalid, with a retryable one when the connection failed meanwhile.
   */
  subscribe(client: MqttClient): Promise<void> {
    if (this.filters.length === 0) return Promise.resolve();
    const logger = this.context.logger;
    return new Promise((resolve, reject) => {
      // MQTT 5 Retain Handling 1 (§3.8.3.1): retained events come with a new subscription only, not again
      // with every resubscribe on a resumed session. MQTT 3.1.1 has no such option and replays them.
      const options = this.context.protocolVersion === 5 ? { qos: 1 as const, rh: 1 } : { qos: 1 as const };
      client.subscribe([...this.filters], options, (error, granted) => {
        const refused = (granted ?? []).filter((grant) => grant.qos >= 0x80);
        for (const grant of refused) {
          logger.error(
            { filter: grant.topic, reasonCode: grant.qos },
            'mqtt subscription refused by the broker',
          );
        }
        if (refused.length > 0 || (error && typeof (error as { code?: unknown }).code === 'number')) {
          const filters = refused.map((grant) => grant.topic).join(', ');
          reject(
            new MqttError(
              ErrorCodes.MQTT_CONNECT,
              `broker refused the subscription(s) ${filters || '(unknown)'}`,
              {
                retryable: false,
                cause: error,
              },
            ),
          );
        } else if (error) {
          const invalid = error.message.startsWith('Invalid topic');
          reject(
            new MqttError(ErrorCodes.MQTT_CONNECT, error.message, { retryable: !invalid, cause: error }),
          );
        } else {
          resolve();
        }
      });
    });
  }

  /**
   * A config reload: subscribes what is new, unsubscribes what is gone, and keeps the new list for later
   * connects. While disconnected the next connect subscribes it.
   */
  async replace(filters: readonly string[]): Promise<void> {
    const removed = this.filters.filter((filter) => !filters.includes(filter));
    const added = filters.filter((filter) => !this.filters.includes(filter));
    this.filters = [...filters];
    const client = this.context.client;
    if (client === undefined || this.context.state !== 'connected') return;
    if (added.length > 0) await this.subscribe(client);
    // On a persistent session an unsubscribed filter stops collecting events for us while we are away too.
    if (removed.length > 0) await client.unsubscribeAsync(removed);
    this.context.logger.info({ added, removed }, 'mqtt subscriptions updated');
  }
}
