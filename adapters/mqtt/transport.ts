/**
 * The gateway's MQTT client: MQTT.js behind the MqttTransport port. QoS 1 in on a persistent session, the
 * PUBACK only after the core recorded the event, QoS 1 out, a retained status topic, jittered reconnect.
 */
import {
  MqttClient,
  ReasonCodes,
  Store,
  UniqueMessageIdProvider,
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type Packet,
} from 'mqtt';
import type { MqttConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, MqttError, TopicError } from '../../daemon/errors.js';
import type {
  DurabilityBarrier,
  Logger,
  MessageHandler,
  MqttTransport,
  PublishOptions,
  TransportEvents,
  TransportState,
} from '../../daemon/ports.js';
import { InboundDispatcher } from './inbound-dispatcher.js';
import { checkMqttConfig, unpublishableTopic } from './config-check.js';
import {
  createStreamBuilder,
  isTlsErrorCode,
  tlsHint,
  parseMqttEndpoint,
  readTlsMaterial,
  type MqttEndpoint,
} from './endpoint.js';
import { OutboundBacklog } from './outbound-backlog.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { WriteWindow } from './write-window.js';

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
const ONLINE = 'online';
const OFFLINE = 'offline';

/** CONNACK codes that retrying cannot fix; on the first connect they fail start() at once. */
const CONNACK_CONFIG_CODES: Record<4 | 5, Record<number, string>> = {
  4: {
    1: 'unacceptable protocol version',
    2: 'identifier rejected',
    4: 'bad user name or password',
    5: 'not authorized',
  },
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

/** PUBACK codes after which the same publish may succeed later (MQTT 5 §3.4.2.1); other refusals are final. */
const RETRYABLE_PUBACK_CODES = new Set([0x91, 0x97]);

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export function createMqttTransport(deps: MqttTransportDeps): MqttTransport {
  const problems = checkMqttConfig(deps.config, deps.statusTopic);
  const endpoint = parseMqttEndpoint(deps.config.url);
  if (typeof endpoint === 'string') problems.unshift({ path: 'mqtt.url', message: endpoint });
  if (problems.length > 0 || typeof endpoint === 'string') throw new ConfigError(problems);
  return new MqttClientTransport(deps, endpoint);
}

class MqttClientTransport implements MqttTransport {
  readonly protocolVersion: 4 | 5;
  private readonly logger: Logger;
  private readonly config: MqttConfig;
  private readonly statusTopic: string;
  private readonly endpoint: MqttEndpoint;
  private readonly backoff: ReconnectBackoff;
  private readonly listeners: { [E in keyof TransportEvents]: TransportEvents[E][] };
  private readonly pendingPublishes: Set<(error: Error) => void>;
  private currentState: TransportState;
  private client: MqttClient | undefined;
  private started: boolean;
  private subscriptions: readonly string[];
  private firstConnect: Deferred | undefined;
  private connectedOnce: boolean;
  private failedAttempts: number;
  private lastFailure: { code: string | number | undefined; message: string } | undefined;
  private connackRefusal: number | undefined;
  private inbound: InboundDispatcher | undefined;
  private resuming: Deferred | undefined;
  private stopping: Promise<void> | undefined;
  private makeDurable: DurabilityBarrier;
  /** The current connection's; its held writes include the PUBACKs of the messages handled this turn. */
  private writeWindow: WriteWindow | undefined;
  private readonly outboundBacklog: OutboundBacklog;

  constructor(deps: MqttTransportDeps, endpoint: MqttEndpoint) {
    this.protocolVersion = deps.config.protocolVersion;
    this.logger = deps.logger.child({ component: 'mqtt' });
    this.config = deps.config;
    this.statusTopic = deps.statusTopic;
    this.endpoint = endpoint;
    this.backoff = new ReconnectBackoff({
      minMs: deps.config.reconnect.minMs,
      maxMs: deps.config.reconnect.maxMs,
    });
    this.listeners = { connect: [], disconnect: [] };
    this.pendingPublishes = new Set();
    this.currentState = 'disconnected';
    this.client = undefined;
    this.started = false;
    this.subscriptions = [];
    this.firstConnect = undefined;
    this.connectedOnce = false;
    this.failedAttempts = 0;
    this.lastFailure = undefined;
    this.connackRefusal = undefined;
    this.inbound = undefined;
    this.resuming = undefined;
    this.stopping = undefined;
    this.makeDurable = () => undefined;
    this.writeWindow = undefined;
    this.outboundBacklog = new OutboundBacklog(this.logger);
  }

  get intakeHolds(): number {
    return this.outboundBacklog.held;
  }

  get state(): TransportState {
    return this.currentState;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    (this.listeners[event] as TransportEvents[E][]).push(listener);
  }

  async start(
    subscriptions: readonly string[],
    onMessage: MessageHandler,
    makeDurable: DurabilityBarrier = () => undefined,
  ): Promise<void> {
    if (this.started || this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport was already started', {
        retryable: false,
      });
    }
    this.started = true;
    this.subscriptions = [...subscriptions];
    const material = await readTlsMaterial(this.config);
    if (this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before it connected', {
        retryable: false,
      });
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
    this.makeDurable = makeDurable;
    const client = new MqttClient(
      createStreamBuilder(this.endpoint, material, this.config.tls.rejectUnauthorized, {
        beforeRelease: () => this.releaseAcks(),
        opened: (window) => {
          this.writeWindow = window;
        },
      }),
      this.clientOptions(),
    );
    this.client = client;
    const inbound = new InboundDispatcher({
      logger: this.logger,
      handler: onMessage,
      // Spaces out session resumes while the handler keeps rejecting.
      backoff: new ReconnectBackoff({
        minMs: this.config.reconnect.minMs,
        maxMs: this.config.reconnect.maxMs,
      }),
      resumeSession: () => this.resumeSession(client),
      acksHeld: () => this.writeWindow?.held === true,
      whenBrokerReads: () => this.outboundBacklog.wait(client.stream),
      makeDurable,
    });
    this.inbound = inbound;
    client.handleMessage = (packet, done) => {
      const stream = client.stream;
      inbound.dispatch(packet, done, () => client.stream === stream);
    };
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

  async setSubscriptions(subscriptions: readonly string[]): Promise<void> {
    const removed = this.subscriptions.filter((filter) => !subscriptions.includes(filter));
    const added = subscriptions.filter((filter) => !this.subscriptions.includes(filter));
    this.subscriptions = [...subscriptions];
    const client = this.client;
    if (client === undefined || this.currentState !== 'connected') return; // the next connect subscribes
    if (added.length > 0) await this.subscribe(client);
    // On a persistent session an unsubscribed filter stops collecting events for us while we are away too.
    if (removed.length > 0) await client.unsubscribeAsync(removed);
    this.logger.info({ added, removed }, 'mqtt subscriptions updated');
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    const invalid = unpublishableTopic(topic);
    if (invalid !== null) {
      throw new TopicError(
        ErrorCodes.TOPIC_INVALID,
        `refusing to publish to ${JSON.stringify(topic)}: ${invalid}`,
      );
    }
    if (this.resuming !== undefined) await this.resuming.promise;
    const client = this.client;
    if (client === undefined || this.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_NOT_CONNECTED, 'mqtt transport is not running', {
        retryable: false,
      });
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
      // The write cache is 65,536 pre-built packet-id buffers: ~6 MB of heap, walked by every full GC, to
      // save writing two bytes per packet.
      writeCache: false,
      // MQTT.js formats a debug line for every packet even when debugging is off: a measurable cost per event.
      log: () => {},
      manualConnect: true,
      username: config.username ?? undefined,
      password: config.password ?? undefined,
      will: { topic: this.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    if (client !== this.client || this.stopping !== undefined) return;
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
      // MQTT 5 Retain Handling 1 (§3.8.3.1): retained events come with a new subscription only, not again
      // with every resubscribe on a resumed session. MQTT 3.1.1 has no such option and replays them.
      const options = this.protocolVersion === 5 ? { qos: 1 as const, rh: 1 } : { qos: 1 as const };
      client.subscribe([...this.subscriptions], options, (error, granted) => {
        const refused = (granted ?? []).filter((grant) => grant.qos >= 0x80);
        for (const grant of refused) {
          this.logger.error(
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
      const reason =
        this.resuming !== undefined ? 'session resume' : (failure?.message ?? 'connection closed');
      const level = this.resuming !== undefined ? 'info' : 'warn';
      this.logger[level](
        { reason, code: failure?.code, retryInMs: client.options.reconnectPeriod },
        'mqtt disconnected',
      );
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
        ...(tlsProblem ? { hint: tlsHint(code) } : {}),
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
    this.lastFailure = { code: (error as { code?: string | number }).code, message: error.message };
    // Before the CONNACK a failure is logged once, with the close that follows it.
    if (client.connected) this.logger.warn({ error: describe(error) }, 'mqtt client error');
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
    this.inbound?.close();
    const first = this.firstConnect;
    this.firstConnect = undefined;
    first?.reject(
      new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before the first connect', {
        retryable: false,
      }),
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
          await withTimeout(
            this.send(client, this.statusTopic, OFFLINE, { qos: 1, retain: true }),
            OFFLINE_PUBLISH_TIMEOUT_MS,
          );
        } catch (error) {
          this.logger.warn(
            { error: describe(error) },
            'mqtt offline status not acknowledged; the Last Will reports it',
          );
        }
      }
      await this.end(client);
    }
    for (const fail of this.pendingPublishes) {
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
    this.pendingPublishes.clear();
    this.currentState = 'stopped';
    if (wasConnected) this.emit('disconnect', { reason: 'stopped' });
    this.logger.info('mqtt transport stopped');
  }

  private end(client: MqttClient): Promise<void> {
    // Graceful: in-flight publishes are acknowledged first, then DISCONNECT (the Will is discarded,
    // [MQTT-3.1.2-10]). Not connected: nothing to wait for, and MQTT.js would queue the DISCONNECT forever.
    const graceful = client.connected;
    // Ending uncorks the socket, held PUBACKs included: what they acknowledge goes on record first.
    try {
      this.releaseAcks();
    } catch {
      client.stream.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(
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

  // ------------------------------------------------------------------ inbound

  /** Before the turn's held writes leave: the events their PUBACKs acknowledge go on record first. */
  private releaseAcks(): void {
    try {
      this.makeDurable();
    } catch (error) {
      this.logger.error(
        { err: error },
        'could not record the events of this turn: dropping the connection unacknowledged, so the broker redelivers them',
      );
      throw error;
    }
  }

  /** For the inbound dispatcher: true when the resume is under way or not needed any more. */
  private resumeSession(client: MqttClient): boolean {
    // Not connected: the reconnect already under way resumes the session.
    if (client !== this.client || this.stopping !== undefined || !client.connected) return true;
    // end() would wait for these acknowledgements with publishing refused meanwhile.
    if (Object.keys(client.outgoing).length > 0) return false;
    this.logger.info('mqtt resuming the session so the broker redelivers unacknowledged messages');
    this.resuming = deferred();
    // DISCONNECT keeps the session (its expiry still runs) and discards the Will [MQTT-3.1.2-10], so the
    // status does not flap to `offline`; the stores are passed on because reconnect() would replace them.
    client.end(false);
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    return true;
  }

  // ------------------------------------------------------------------ outbound

  private send(
    client: MqttClient,
    topic: string,
    payload: Buffer | string,
    options: PublishOptions,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.pendingPublishes.add(fail);
      const properties =
        this.protocolVersion === 5 && options.correlationData !== undefined
          ? { correlationData: options.correlationData }
          : undefined;
      client.publish(
        topic,
        payload,
        { qos: options.qos, retain: options.retain ?? false, properties },
        (error) => {
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
