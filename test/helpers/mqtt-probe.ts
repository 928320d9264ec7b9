/**
 * A promise-based MQTT test client: the "PLC" or "terminal" on the other side of the broker. It records
 * every message it receives, so a test can subscribe first and wait for what it expects later.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface ProbeOptions {
  protocolVersion?: 4 | 5;
  /** Default: a random id. */
  clientId?: string;
  /** Default true. With false and protocol 5, also set `sessionExpirySec`. */
  clean?: boolean;
  sessionExpirySec?: number;
  /** Bound for the CONNACK, milliseconds (default 5,000). */
  connectTimeoutMs?: number;
  /** Extra MQTT.js options (Last Will, credentials...). */
  extra?: Partial<IClientOptions>;
}

export interface ProbeMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  responseTopic?: string;
  correlationData?: Buffer;
  messageExpiryInterval?: number;
  userProperties?: Record<string, string | string[]>;
  /** performance.now() at arrival. */
  receivedAt: number;
}

export interface ProbePublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
  responseTopic?: string;
  correlationData?: Buffer;
  messageExpiryInterval?: number;
  userProperties?: Record<string, string | string[]>;
}

export type MessageFilter = string | ((message: ProbeMessage) => boolean);

export interface MqttProbe {
  readonly client: MqttClient;
  /** Everything received so far, in arrival order. */
  readonly messages: readonly ProbeMessage[];
  subscribe(filters: string | string[], qos?: 0 | 1 | 2): Promise<void>;
  publish(topic: string, payload: string | Buffer, options?: ProbePublishOptions): Promise<void>;
  /**
   * Resolves with the first `count` messages (already received or arriving later) that match `filter`
   * (an MQTT topic filter or a predicate); rejects after `timeoutMs` saying how many arrived.
   */
  waitForMessages(filter: MessageFilter, count: number, timeoutMs?: number): Promise<ProbeMessage[]>;
  /** Clean disconnect (DISCONNECT sent, no Last Will). */
  end(): Promise<void>;
  /** Drops the socket without DISCONNECT, so the broker publishes the Last Will. */
  destroy(): void;
}

/** Connects and resolves once the broker accepted (CONNACK 0); rejects on refusal or timeout. */
export async function connectProbe(url: string, options: ProbeOptions = {}): Promise<MqttProbe> {
  const protocolVersion = options.protocolVersion ?? 5;
  const clientOptions: IClientOptions = {
    protocolVersion,
    clientId: options.clientId ?? `probe-${Math.random().toString(16).slice(2, 10)}`,
    clean: options.clean ?? true,
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    ...(protocolVersion === 5 && options.sessionExpirySec !== undefined
      ? { properties: { sessionExpiryInterval: options.sessionExpirySec } }
      : {}),
    ...options.extra,
  };
  const client = mqtt.connect(url, clientOptions);
  await new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      client.off('connect', onConnect);
      client.end(true);
      reject(error);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  return createProbe(client);
}

function createProbe(client: MqttClient): MqttProbe {
  const messages: ProbeMessage[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    const properties = packet.properties;
    messages.push({
      topic,
      payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      responseTopic: properties?.responseTopic,
      correlationData: properties?.correlationData,
      messageExpiryInterval: properties?.messageExpiryInterval,
      userProperties: properties?.userProperties,
      receivedAt: performance.now(),
    });
    for (const wake of waiters) wake();
  });

  return {
    client,
    messages,
    async subscribe(filters, qos = 1) {
      const granted = await client.subscribeAsync(filters, { qos });
      const refused = granted.filter((grant) => grant.qos >= 0x80);
      if (refused.length > 0)
        throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
    },
    async publish(topic, payload, options = {}) {
      const { qos = 1, retain = false, ...properties } = options;
      const publishOptions: IClientPublishOptions = { qos, retain };
      const defined = Object.entries(properties).filter(([, value]) => value !== undefined);
      if (client.options.protocolVersion === 5 && defined.length > 0) {
        publishOptions.properties = Object.fromEntries(defined);
      }
      await client.publishAsync(topic, payload, publishOptions);
    },
    waitForMessages(filter, count, timeoutMs = 5_000) {
      const matches =
        typeof filter === 'string' ? (m: ProbeMessage) => topicMatches(filter, m.topic) : filter;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.filter(matches);
          if (found.length < count) return false;
          finish();
          resolve(found.slice(0, count));
          return true;
        };
        const timer = setTimeout(() => {
          finish();
          const got = messages.filter(matches).length;
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${count} message(s) on ${String(filter)}: got ${got}`,
            ),
          );
        }, timeoutMs);
        const wake = (): void => void check();
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        check();
      });
    },
    async end() {
      await client.endAsync();
    },
    destroy() {
      client.options.reconnectPeriod = 0;
      client.stream.destroy();
      client.end(true);
    },
  };
}

/** MQTT topic filter matching [MQTT-4.7.1]; a `$share/<group>/` prefix is ignored. */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const f = plain.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1]: wildcards at the first level do not match topics starting with `$`.
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
