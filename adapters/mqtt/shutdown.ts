/**
 * Stopping the transport: the retained `offline` status first (acknowledged, or the Last Will reports it),
 * then a clean DISCONNECT once in-flight publishes are acknowledged, and every wait bounded.
 */
import type { MqttClient } from 'mqtt';
import { ErrorCodes, MqttError } from '../../daemon/errors.js';
import { describeError, withTimeout } from './deferred.js';
import type { MqttPublisher } from './publishing.js';
import { OFFLINE, type TransportContext } from './transport-context.js';

/** Wait this long for the broker to acknowledge the retained `offline`, milliseconds. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 1_000;
/** Wait this long for in-flight publishes and the DISCONNECT before closing the socket, milliseconds. */
const END_TIMEOUT_MS = 2_000;

/** `announce`: publish the retained `offline` first (stop()); a failed start skips it. */
export async function shutDownTransport(
  context: TransportContext,
  publisher: MqttPublisher,
  announce: boolean,
): Promise<void> {
  context.inbound?.close();
  const first = context.firstConnect;
  context.firstConnect = undefined;
  first?.reject(
    new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before the first connect', {
      retryable: false,
    }),
  );
  const client = context.client;
  const wasConnected = context.state === 'connected';
  if (client !== undefined) {
    if (context.resuming !== undefined) {
      await withTimeout(context.resuming.promise, END_TIMEOUT_MS).catch(() => undefined);
      context.resuming?.resolve();
      context.resuming = undefined;
    }
    if (announce && client.connected) {
      try {
        await withTimeout(
          publisher.send(client, context.statusTopic, OFFLINE, { qos: 1, retain: true }),
          OFFLINE_PUBLISH_TIMEOUT_MS,
        );
      } catch (error) {
        context.logger.warn(
          { error: describeError(error) },
          'mqtt offline status not acknowledged; the Last Will reports it',
        );
      }
    }
    await endClient(context, client);
  }
  publisher.failPending();
  context.state = 'stopped';
  if (wasConnected) context.emit('disconnect', { reason: 'stopped' });
  context.logger.info('mqtt transport stopped');
}

function endClient(context: TransportContext, client: MqttClient): Promise<void> {
  // Graceful: in-flight publishes are acknowledged first, then DISCONNECT (the Will is discarded,
  // [MQTT-3.1.2-10]). Not connected: nothing to wait for, and MQTT.js would queue the DISCONNECT forever.
  const graceful = client.connected;
  // Ending uncorks the socket, held PUBACKs included: what they acknowledge goes on record first.
  try {
    context.releaseAcks();
  } catch {
    client.stream.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      context.logger.warn(
        { timeoutMs: END_TIMEOUT_MS },
        'mqtt graceful disconnect timed out; closing the socket',
      );
      client.stream.destroy();
      resolve();
    }, END_TIMEOUT_MS);
    client.end(!graceful, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
