import { connect, type IClientOptions, type MqttClient } from 'mqtt';

/**
 * MQTT.js leaves Nagle's algorithm on, which holds small packets (a decision, a PUBACK) back for tens of
 * milliseconds on loopback; every client in the benchmark turns it off so the broker path is not what is
 * measured.
 */
export function connectNoDelay(url: string, options: IClientOptions): MqttClient {
  const client = connect(url, options);
  const noDelay = (): void => {
    const stream = client.stream as { setNoDelay?: (noDelay?: boolean) => unknown } | undefined;
    // Also valid on a socket that is still connecting: Node applies it once connected.
    stream?.setNoDelay?.(true);
  };
  noDelay();
  // A reconnect builds a new socket.
  client.on('connect', noDelay);
  return client;
}

/** Resolves once connected, rejects on the first error before that. */
export function whenConnected(client: MqttClient, timeoutMs = 10_000): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`MQTT connect timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onConnect = (): void => finish();
    const onError = (err: Error): void => finish(err);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}
