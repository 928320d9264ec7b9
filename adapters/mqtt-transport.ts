/**
 * The gateway's MQTT client: MQTT.js behind the MqttTransport port. QoS 1 in on a persistent session, the
 * PUBACK only after the core recorded the event, QoS 1 out, a retained status topic, jittered reconnect.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import {
  MqttClient,
  ReasonCodes,
  Store,
  UniqueMessageIdProvider,
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type IPublishPacket,
  type Packet,
} from 'mqtt';
import type { MqttConfig } from '../config/types.js';
import { ConfigError, ErrorCodes, MqttError, TopicError, type ConfigProblem } from '../daemon/errors.js';
import type {
  InboundMessage,
  Logger,
  MessageHandler,
  MqttTransport,
  PublishOptions,
  TransportEvents,
  TransportState,
} from '../daemon/ports.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

export interface MqttTransportDeps {
  logger: Logger;
  config: MqttConfig;
  /** `infergate/<gateway.id>/status`: retained `online` on every connect, `offline` as Last Will and on stop. */
  statusTopic: string;
}

/** stop(): wait this long for the broker to acknowledge the retained `offline`, milliseconds. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 1_000;
/** stop(): wait this long for in-flight publishes and the DISCONNECT before closing the socket, milliseconds. */
const END_TIMEOUT_MS = 2_000;
/** A forced session resume waits until no inbound message was handled for this long, milliseconds. */
const REDELIVERY_QUIET_MS = 200;
const ONLINE = 'online';
const OFFLINE = 'offline';

/** CONNACK codes that retrying cannot fix; on the first connect they fail start() at once. */
const CONNACK_CONFIG_CODES: Record<4 | 5, Record<number, string>> = {
  4: { 1: 'unacceptable protocol version', 2: 'identifier rejected', 4: 'bad user name or password', 5: 'not authorized' },
  5: {
    // A 3.1.1-only broker answers an MQTT 5 CONNECT with its own return code 1 (aedes does).
    1: 'unacceptable protocol version',
    0x84: 'unsupported protocol version',
    0x85: 'client identifier not valid',
    0x86: 'bad user name or password',
    0x87: 'not authorized',
    0x8c: 'bad authentication method',
  },
};

/** PUBACK codes after which the same publish may succeed later [MQTT-3.4.2.1]; every other refusal is final. */
const RETRYABLE_PUBACK_CODES = new Set([0x91, 0x97]);

type Endpoint = { kind: 'tcp'; host: string; port: number; tls: boolean } | { kind: 'unix'; path: string };

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export function createMqttTransport(deps: MqttTransportDeps): MqttTransport {
  const problems = validateConfig(deps.config, deps.statusTopic);
  const endpoint = parseBrokerUrl(deps.config.url);
  if (typeof endpoint === 'string') problems.unshift({ path: 'mqtt.url', message: endpoint });
  if (problems.length > 0 || typeof endpoint === 'string') throw new ConfigError(problems);
  return new MqttClientTransport(deps, endpoint);
}

class MqttClientTransport implements MqttTransport {
  readonly protocolVersion: 4 | 5;
  private readonly logger: Logger;
  private readonly config: MqttConfig;
  private readonly statusTopic: string;
  private readonly endpoint: Endpoint;
  private readonly backoff: ReconnectBackoff;
  /** Spaces out forced session resumes while the handler keeps rejecting. */
  private readonly redeliveryBackoff: ReconnectBackoff;
  private readonly listeners: { [E in keyof TransportEvents]: TransportEvents[E][] };
  private readonly pendingPublishes: Set<(error: Error) => void>;
  private currentState: TransportState;
  private client: MqttClient | undefined;
  private onMessage: MessageHandler | undefined;
  private subscriptions: readonly string[];
  private firstConnect: Deferred | undefined;
  private connectedOnce: boolean;
  private failedAttempts: number;
  private lastFailure: { code: string | number | undefined; message: string } | undefined;
  private connackRefusal: number | undefined;
  private handlerTail: Promise<void>;
  /** Inbound messages handed to us and not yet answered (acknowledged or refused). */
  private inboundPending: number;
  private lastHandledAt: number;
  private redeliveryTimer: NodeJS.Timeout | undefined;
  private resuming: Deferred | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: MqttTransportDeps, endpoint: Endpoint) {
    this.protocolVersion = deps.config.protocolVersion;
    this.logger = deps.logger.child({ component: 'mqtt' });
    this.config = deps.config;
    this.statusTopic = deps.statusTopic;
    this.endpoint = endpoint;
    this.backoff = new ReconnectBackoff({ minMs: deps.config.reconnect.minMs, maxMs: deps.config.reconnect.maxMs });
    this.redeliveryBackoff = new ReconnectBackoff({
      minMs: deps.config.reconnect.minMs,
      maxMs: deps.config.reconnect.maxMs,
    });
    this.listeners = { connect: [], disconnect: [] };
    this.pendingPublishes = new Set();
    this.currentState = 'disconnected';
    this.client = undefined;
    this.onMessage = undefined;
    this.subscriptions = [];
    this.firstConnect = undefined;
    this.connectedOnce = false;
    this.failedAttempts = 0;
    this.lastFailure = undefined;
    this.connackRefusal = undefined;
    this.handlerTail = Promise.resolve();
    this.inboundPending = 0;
    this.lastHandledAt = 0;
    this.redeliveryTimer = undefined;
    this.resuming = undefined;
    this.stopping = undefined;
  }

  get state(): TransportState {
    return this.currentState;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    (this.listeners[event] as TransportEvents[E][]).push(listener);
  }

  async start(subscriptions: readonly string[], onMessage: MessageHandler): Promise<void> {
    if (this.onMessage !== undefined || this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport was already started', { retryable: false });
    }
    this.subscriptions = [...subscriptions];
    this.onMessage = onMessage;
    const material = await readTlsMaterial(this.config);
    if (this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before it connected', { retryable: false });
    }
    if (this.protocolVersion === 5 && this.config.sessionExpirySec === 0) {
      this.logger.warn(
        'mqtt.sessionExpirySec is 0: the broker drops the session on every disconnect, and events published meanwhile are lost',
      );
    }
    if (this.endpoint.kind === 'tcp' && this.endpoint.tls && !this.config.tls.rejectUnauthorized) {
      this.logger.warn('mqtt.tls.rejectUnauthorized is false: the broker certificate is not verified');
    }
    const first = deferred();
    this.firstConnect = first;
    const client = new MqttClient(streamBuilder(this.endpoint, this.config, material), this.clientOptions());
    this.client = client;
    client.handleMessage = (packet, done) => this.handlePublish(client, packet, done);
    client.on('connect', (connack) => this.onConnect(client, connack));
    client.on('close', () => this.onClose(client));
    client.on('reconnect', () => this.onReconnect(client));
    client.on('error', (error) => this.onError(client, error));
    client.on('disconnect', (packet) => this.onServerDisconnect(packet));
    client.on('packetreceive', (packet) => this.onPacket(packet));
    this.currentState = 'connecting';
    this.logger.info(
      { broker: this.config.url, clientId: this.config.clientId, protocolVersion: this.protocolVersion },
      'mqtt connecting',
    );
    client.connect();
    return first.promise;
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    const invalid = unpublishableTopic(topic);
    if (invalid !== null) {
      throw new TopicError(ErrorCodes.TOPIC_INVALID, `refusing to publish to ${JSON.stringify(topic)}: ${invalid}`);
    }
    if (this.resuming !== undefined) await this.resuming.promise;
    const client = this.client;
    if (client === undefined || this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_NOT_CONNECTED, 'mqtt transport is not running', { retryable: false });
    }
    return this.send(client, topic, payload, options);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown(true);
    return this.stopping;
  }

  // ------------------------------------------------------------------ connection lifecycle

  private clientOptions(): IClientOptions {
    const config = this.config;
    return {
      protocolVersion: config.protocolVersion,
      clientId: config.clientId,
      clean: false,
      // MQTT 5 §3.1.2.11.2: an absent Session Expiry Interval means 0, and the session (with the events
      // queued for us) ends with the network connection, whatever `clean` says.
      properties:
        config.protocolVersion === 5
          ? { sessionExpiryInterval: config.sessionExpirySec, receiveMaximum: config.receiveMaximum }
          : undefined,
      keepalive: config.keepaliveSec,
      connectTimeout: config.connectTimeoutMs,
      reconnectPeriod: this.backoff.next(),
      // A refused CONNACK would otherwise stop reconnecting for good; config-level refusals end start() instead.
      reconnectOnConnackError: true,
      resubscribe: false,
      // The default provider plus a packet-id-keyed store silently drops queued publishes past 65,535.
      messageIdProvider: new UniqueMessageIdProvider(),
      // `clean: false` stores survive the end()/reconnect() of a forced session resume; the defaults are wiped.
      incomingStore: new Store({ clean: false }),
      outgoingStore: new Store({ clean: false }),
      queueQoSZero: false,
      manualConnect: true,
      username: config.username ?? undefined,
      password: config.password ?? undefined,
      will: { topic: this.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    this.backoff.reset();
    client.options.reconnectPeriod = this.backoff.next();
    this.currentState = 'connected';
    this.lastFailure = undefined;
    const sessionPresent = connack.sessionPresent;
    this.logger.info({ sessionPresent, failedAttempts: this.failedAttempts }, 'mqtt connected');
    if (this.connectedOnce && !sessionPresent) {
      this.logger.warn(
        'mqtt session was not resumed (expired, or the broker lost its state): events published while the gateway was away are lost',
      );
    }
    this.failedAttempts = 0;
    // Subscribing on every connect, session or not: a broker that lost the session also lost the subscriptions.
    this.subscribe(client).then(
      () => {
        if (client !== this.client || this.stopping !== undefined) return;
        client.publish(this.statusTopic, ONLINE, { qos: 1, retain: true }, (error) => {
          if (error) this.logger.warn({ error: describe(error) }, 'mqtt status publish failed');
        });
        this.connectedOnce = true;
        this.emit('connect', { sessionPresent });
        const first = this.firstConnect;
        this.firstConnect = undefined;
        first?.resolve();
      },
      (error: Error) => {
        if (error instanceof MqttError && !error.retryable && this.firstConnect !== undefined) {
          this.failStart(error);
        } else {
          this.logger.warn({ error: describe(error) }, 'mqtt subscribe failed; retried on the next connect');
        }
      },
    );
  }

  private subscribe(client: MqttClient): Promise<void> {
    if (this.subscriptions.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      client.subscribe([...this.subscriptions], { qos: 1 }, (error, granted) => {
        const refused = (granted ?? []).filter((grant) => grant.qos >= 0x80);
        for (const grant of refused) {
          this.logger.error({ filter: grant.topic, reasonCode: grant.qos }, 'mqtt subscription refused by the broker');
        }
        if (refused.length > 0 || (error && typeof (error as { code?: unknown }).code === 'number')) {
          const filters = refused.map((grant) => grant.topic).join(', ');
          reject(
            new MqttError(ErrorCodes.MQTT_CONNECT, `broker refused the subscription(s) ${filters || '(unknown)'}`, {
              retryable: false,
              cause: error,
            }),
          );
        } else if (error) {
          const invalid = error.message.startsWith('Invalid topic');
          reject(new MqttError(ErrorCodes.MQTT_CONNECT, error.message, { retryable: !invalid, cause: error }));
        } else {
          resolve();
        }
      });
    });
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client || this.stopping !== undefined) return;
    const wasConnected = this.currentState === 'connected';
    const failure = this.lastFailure;
    this.lastFailure = undefined;
    this.currentState = 'disconnected';
    const refusal = this.connackRefusal;
    this.connackRefusal = undefined;
    if (refusal !== undefined && this.firstConnect !== undefined) {
      const reason = CONNACK_CONFIG_CODES[this.protocolVersion][refusal];
      if (reason !== undefined) {
        this.failStart(
          new MqttError(
            ErrorCodes.MQTT_CONNECT,
            `broker ${this.config.url} refused the connection: ${reason} (CONNACK ${refusal})` +
              (refusal === 1 || refusal === 0x84
                ? `; it does not speak MQTT ${this.protocolVersion === 5 ? '5 (set mqtt.protocolVersion to 4)' : '3.1.1'}`
                : ''),
            { retryable: false },
          ),
        );
        return;
      }
    }
    if (wasConnected) {
      const reason = this.resuming !== undefined ? 'session resume' : (failure?.message ?? 'connection closed');
      const level = this.resuming !== undefined ? 'info' : 'warn';
      this.logger[level]({ reason, code: failure?.code, retryInMs: client.options.reconnectPeriod }, 'mqtt disconnected');
      this.emit('disconnect', { reason });
      return;
    }
    this.failedAttempts += 1;
    const code = failure?.code;
    const tlsProblem = typeof code === 'string' && isTlsErrorCode(code);
    this.logger[tlsProblem ? 'error' : 'warn'](
      {
        code,
        reason: failure?.message ?? 'connection closed before CONNACK',
        attempt: this.failedAttempts,
        retryInMs: client.options.reconnectPeriod,
        ...(tlsProblem ? { hint: 'the broker certificate was not accepted; check mqtt.tls.ca and the host name' } : {}),
      },
      'mqtt connect failed',
    );
  }

  private onReconnect(client: MqttClient): void {
    if (client !== this.client) return;
    const resumed = this.resuming;
    this.resuming = undefined;
    resumed?.resolve();
    // MQTT.js arms its retry timer from options.reconnectPeriod on the next close; this is that delay.
    client.options.reconnectPeriod = this.backoff.next();
    this.currentState = 'connecting';
    this.logger.info({ attempt: this.failedAttempts + 1 }, 'mqtt reconnecting');
  }

  private onError(client: MqttClient, error: Error): void {
    if (client !== this.client) return;
    const code = (error as { code?: string | number }).code;
    if (client.connected) {
      this.logger.warn({ error: describe(error) }, 'mqtt client error');
      return;
    }
    // Logged once, with the close that follows it.
    this.lastFailure = { code, message: error.message };
  }

  private onServerDisconnect(packet: IDisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const reason = ReasonCodes[code as keyof typeof ReasonCodes] ?? 'unknown';
    this.lastFailure = { code, message: `broker sent DISCONNECT: ${reason}` };
    this.logger.warn({ reasonCode: code, reason }, 'mqtt broker closed the session');
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd !== 'connack') return;
    const code = this.protocolVersion === 5 ? packet.reasonCode : packet.returnCode;
    if (code !== undefined && code !== 0) this.connackRefusal = code;
  }

  private failStart(error: MqttError): void {
    const first = this.firstConnect;
    this.firstConnect = undefined;
    this.logger.error({ code: error.code }, error.message);
    this.stopping ??= this.shutdown(false);
    void this.stopping.then(() => first?.reject(error));
  }

  private async shutdown(announce: boolean): Promise<void> {
    clearTimeout(this.redeliveryTimer);
    const first = this.firstConnect;
    this.firstConnect = undefined;
    first?.reject(
      new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before the first connect', { retryable: false }),
    );
    const client = this.client;
    const wasConnected = this.currentState === 'connected';
    if (client !== undefined) {
      if (this.resuming !== undefined) {
        await withTimeout(this.resuming.promise, END_TIMEOUT_MS).catch(() => undefined);
        this.resuming?.resolve();
        this.resuming = undefined;
      }
      if (announce && client.connected) {
        try {
          await withTimeout(this.send(client, this.statusTopic, OFFLINE, { qos: 1, retain: true }), OFFLINE_PUBLISH_TIMEOUT_MS);
        } catch (error) {
          this.logger.warn({ error: describe(error) }, 'mqtt offline status not acknowledged; the Last Will reports it');
        }
      }
      await this.end(client);
    }
    for (const fail of this.pendingPublishes) {
      fail(
        new MqttError(ErrorCodes.MQTT_PUBLISH, 'mqtt transport stopped before the broker acknowledged the publish', {
          retryable: true,
        }),
      );
    }
    this.pendingPublishes.clear();
    this.currentState = 'stopped';
    if (wasConnected) this.emit('disconnect', { reason: 'stopped' });
    this.logger.info('mqtt transport stopped');
  }

  private end(client: MqttClient): Promise<void> {
    // Graceful: in-flight publishes are acknowledged first, then DISCONNECT (the Will is discarded,
    // [MQTT-3.1.2-10]). Not connected: nothing to wait for, and MQTT.js would queue the DISCONNECT forever.
    const graceful = client.connected;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn({ timeoutMs: END_TIMEOUT_MS }, 'mqtt graceful disconnect timed out; closing the socket');
        client.stream.destroy();
        resolve();
      }, END_TIMEOUT_MS);
      client.end(!graceful, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ------------------------------------------------------------------ inbound

  private handlePublish(client: MqttClient, packet: IPublishPacket, done: (error?: Error) => void): void {
    const stream = client.stream;
    const message = toInboundMessage(packet);
    const handler = this.onMessage!;
    this.inboundPending += 1;
    // One at a time even across a reconnect: a new connection's packets wait for a handler still running.
    this.handlerTail = this.handlerTail.then(async () => {
      try {
        await handler(message);
      } catch (error) {
        this.inboundPending -= 1;
        this.lastHandledAt = performance.now();
        this.logger.warn(
          { topic: message.topic, qos: message.qos, dup: message.dup, error: describe(error) },
          'inbound message not acknowledged; the broker redelivers it when the session resumes',
        );
        // MQTT.js skips the PUBACK when the handler passes an error, and moves on to the next packet.
        done(error instanceof Error ? error : new Error(String(error)));
        if (packet.qos > 0) this.scheduleRedelivery();
        return;
      }
      this.inboundPending -= 1;
      this.lastHandledAt = performance.now();
      if (message.dup) this.redeliveryBackoff.reset();
      // A PUBACK on a newer connection could acknowledge a different message that reuses the packet id;
      // the resumed session redelivers this one instead [MQTT-4.4.0-1].
      done(client.stream === stream ? undefined : new Error('connection replaced while the message was handled'));
    });
  }

  /**
   * A broker resends unacknowledged messages only when the session resumes [MQTT-4.4.0-1], and each one
   * holds a Receive Maximum slot until then; enough rejections would stall the inbound stream for good.
   */
  private scheduleRedelivery(): void {
    if (this.redeliveryTimer !== undefined || this.stopping !== undefined) return;
    this.redeliveryTimer = setTimeout(() => this.resumeSession(), this.redeliveryBackoff.next());
  }

  private resumeSession(): void {
    this.redeliveryTimer = undefined;
    const client = this.client;
    // Not connected: the reconnect already under way resumes the session.
    if (client === undefined || this.stopping !== undefined || !client.connected) return;
    // Messages still in hand or just behind them would be redelivered too: wait for a lull.
    const quietForMs = performance.now() - this.lastHandledAt;
    if (this.inboundPending > 0 || quietForMs < REDELIVERY_QUIET_MS || Object.keys(client.outgoing).length > 0) {
      this.redeliveryTimer = setTimeout(() => this.resumeSession(), REDELIVERY_QUIET_MS);
      return;
    }
    this.logger.info('mqtt resuming the session so the broker redelivers unacknowledged messages');
    this.resuming = deferred();
    // DISCONNECT keeps the session (its expiry still runs) and discards the Will, so no `offline` flaps.
    client.end(false);
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
  }

  // ------------------------------------------------------------------ outbound

  private send(client: MqttClient, topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.pendingPublishes.add(fail);
      const properties =
        this.protocolVersion === 5 && options.correlationData !== undefined
          ? { correlationData: options.correlationData }
          : undefined;
      client.publish(topic, payload, { qos: options.qos, retain: options.retain ?? false, properties }, (error) => {
        this.pendingPublishes.delete(fail);
        if (!error) {
          resolve();
          return;
        }
        const reasonCode = (error as { code?: unknown }).code;
        const refused = typeof reasonCode === 'number';
        reject(
          new MqttError(
            ErrorCodes.MQTT_PUBLISH,
            refused ? `broker refused the publish to ${topic}: ${error.message}` : `publish to ${topic} failed: ${error.message}`,
            { retryable: !refused || RETRYABLE_PUBACK_CODES.has(reasonCode), cause: error },
          ),
        );
      });
    });
  }

  private emit<E extends keyof TransportEvents>(event: E, info: Parameters<TransportEvents[E]>[0]): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (info: Parameters<TransportEvents[E]>[0]) => void)(info);
      } catch (error) {
        this.logger.error({ event, error: describe(error) }, 'mqtt transport listener threw');
      }
    }
  }
}

// ------------------------------------------------------------------ helpers

function streamBuilder(endpoint: Endpoint, config: MqttConfig, material: TlsMaterial): () => net.Socket {
  return () => {
    if (endpoint.kind === 'unix') return net.connect({ path: endpoint.path });
    const socket = endpoint.tls
      ? tls.connect({
          host: endpoint.host,
          port: endpoint.port,
          servername: net.isIP(endpoint.host) === 0 ? endpoint.host : undefined,
          ...material,
          rejectUnauthorized: config.tls.rejectUnauthorized,
        })
      : net.connect({ host: endpoint.host, port: endpoint.port });
    // Nagle's algorithm holds our small PUBLISH/PUBACK writes for the peer's delayed ACK (~30 ms p50 measured
    // here). Set before the connect so it holds from the first packet of every connection, reconnects included.
    socket.setNoDelay(true);
    return socket;
  };
}

async function readTlsMaterial(config: MqttConfig): Promise<TlsMaterial> {
  const material: TlsMaterial = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = config.tls[key];
    if (file === null) continue;
    try {
      material[key] = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new MqttError(ErrorCodes.MQTT_CONNECT, `cannot read mqtt.tls.${key} file ${file}: ${code}`, {
        retryable: false,
        cause: error,
      });
    }
  }
  return material;
}

function toInboundMessage(packet: IPublishPacket): InboundMessage {
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

/**
 * Mosquitto disconnects a client that publishes to such a topic, and MQTT.js re-sends the stored packet
 * first on every reconnect: one bad publish would keep the gateway offline until it restarts.
 */
function unpublishableTopic(topic: string): string | null {
  if (topic.length === 0) return 'empty topic [MQTT-4.7.3-1]';
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name [MQTT-3.3.2-2]';
  if (topic.includes('\u0000')) return 'NUL in a topic name [MQTT-1.5.4-2]';
  return null;
}

function parseBrokerUrl(url: string): Endpoint | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: use mqtt://host:port, mqtts://host:port or unix:///path/to/socket`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'credentials in the URL would end up in logs; use mqtt.username and mqtt.passwordFile';
  }
  switch (parsed.protocol) {
    case 'unix:': {
      const path = decodeURIComponent(parsed.pathname);
      if (parsed.host !== '' || path === '' || path === '/') return 'a unix socket URL is unix:///absolute/path';
      return { kind: 'unix', path };
    }
    case 'mqtt:':
    case 'mqtts:': {
      const secure = parsed.protocol === 'mqtts:';
      const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      if (host === '') return 'missing host';
      const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port);
      return { kind: 'tcp', host, port, tls: secure };
    }
    default:
      return `unsupported scheme ${parsed.protocol} (use mqtt:, mqtts: or unix:)`;
  }
}

function validateConfig(config: MqttConfig, statusTopic: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.push({ path, message });
  };
  check(config.protocolVersion === 4 || config.protocolVersion === 5, 'mqtt.protocolVersion', 'must be 4 or 5');
  check(typeof config.clientId === 'string' && config.clientId.length > 0, 'mqtt.clientId', 'must be a non-empty string');
  check(isInt(config.keepaliveSec, 0, 65_535), 'mqtt.keepaliveSec', 'must be an integer in [0, 65535] seconds');
  check(isInt(config.sessionExpirySec, 0, 0xffff_ffff), 'mqtt.sessionExpirySec', 'must be an integer in [0, 2^32-1]');
  check(isInt(config.receiveMaximum, 1, 65_535), 'mqtt.receiveMaximum', 'must be an integer in [1, 65535]');
  check(isInt(config.connectTimeoutMs, 1, 600_000), 'mqtt.connectTimeoutMs', 'must be an integer in [1, 600000] ms');
  check(isInt(config.reconnect.minMs, 1, 3_600_000), 'mqtt.reconnect.minMs', 'must be an integer in [1, 3600000] ms');
  check(
    isInt(config.reconnect.maxMs, config.reconnect.minMs, 3_600_000),
    'mqtt.reconnect.maxMs',
    'must be an integer in [reconnect.minMs, 3600000] ms',
  );
  check((config.tls.cert === null) === (config.tls.key === null), 'mqtt.tls', 'cert and key go together');
  const usesTls = config.tls.ca !== null || config.tls.cert !== null;
  check(!usesTls || config.url.startsWith('mqtts:'), 'mqtt.tls', 'TLS files are set but the URL is not mqtts://');
  // [MQTT-3.1.2-22]: MQTT 3.1.1 sends a password only with a user name.
  check(
    !(config.protocolVersion === 4 && config.password !== null && config.username === null),
    'mqtt.username',
    'MQTT 3.1.1 needs a user name when a password is set',
  );
  check(unpublishableTopic(statusTopic) === null, 'gateway.id', `status topic ${JSON.stringify(statusTopic)} is invalid`);
  return problems;
}

function isInt(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function isTlsErrorCode(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$/.test(code);
}

function describe(error: unknown): { code?: string | number; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: string | number }).code;
    return code === undefined ? { message: error.message } : { code, message: error.message };
  }
  return { message: String(error) };
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejected first connect nobody awaits any more must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
