/**
 * The connection lifecycle of the gateway's MQTT client: connect with the session and Last Will options,
 * reconnect with jittered backoff, the retained `online` status once subscribed, a forced session resume
 * when inbound messages were left unacknowledged, and the logging of every connect, failure and close.
 * A refusal that retrying cannot fix ends start() instead of retrying forever.
 */
import { MqttClient, ReasonCodes, type IConnackPacket, type IDisconnectPacket, type Packet } from 'mqtt';
import { MqttError } from '../../daemon/errors.js';
import type { MessageHandler } from '../../daemon/ports.js';
import { mqttClientOptions } from './client-options.js';
import { connackConfigError } from './connack-refusal.js';
import { deferred, describeError } from './deferred.js';
import {
  createStreamBuilder,
  isTlsErrorCode,
  tlsHint,
  type MqttEndpoint,
  type TlsMaterial,
} from './endpoint.js';
import { InboundDispatcher } from './inbound-dispatcher.js';
import type { MqttPublisher } from './publishing.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { MqttSubscriptions } from './subscriptions.js';
import { ONLINE, type TransportContext } from './transport-context.js';

export interface MqttConnectionDeps {
  context: TransportContext;
  endpoint: MqttEndpoint;
  subscriptions: MqttSubscriptions;
  publisher: MqttPublisher;
  /** A failure on the first connect that retrying cannot fix: shut down and reject start(). */
  failStart(error: MqttError): void;
}

export class MqttConnection {
  private readonly context: TransportContext;
  private readonly endpoint: MqttEndpoint;
  private readonly subscriptions: MqttSubscriptions;
  private readonly publisher: MqttPublisher;
  private readonly failStart: (error: MqttError) => void;
  private readonly backoff: ReconnectBackoff;
  private connectedOnce: boolean;
  private failedAttempts: number;
  private lastFailure: { code: string | number | undefined; message: string } | undefined;
  private connackRefusal: number | undefined;

  constructor(deps: MqttConnectionDeps) {
    this.context = deps.context;
    this.endpoint = deps.endpoint;
    this.subscriptions = deps.subscriptions;
    this.publisher = deps.publisher;
    this.failStart = deps.failStart;
    this.backoff = new ReconnectBackoff({
      minMs: deps.context.config.reconnect.minMs,
      maxMs: deps.context.config.reconnect.maxMs,
    });
    this.connectedOnce = false;
    this.failedAttempts = 0;
    this.lastFailure = undefined;
    this.connackRefusal = undefined;
  }

  /** Creates the client and its inbound dispatcher and starts connecting; the first connect settles `context.firstConnect`. */
  connect(material: TlsMaterial, onMessage: MessageHandler): void {
    const context = this.context;
    const config = context.config;
    context.firstConnect = deferred();
    const client = new MqttClient(
      createStreamBuilder(this.endpoint, material, config.tls.rejectUnauthorized, {
        beforeRelease: () => context.releaseAcks(),
        opened: (window) => {
          context.writeWindow = window;
        },
      }),
      mqttClientOptions(config, context.statusTopic, this.backoff.next()),
    );
    context.client = client;
    const inbound = new InboundDispatcher({
      logger: context.logger,
      handler: onMessage,
      // Spaces out session resumes while the handler keeps rejecting.
      backoff: new ReconnectBackoff({ minMs: config.reconnect.minMs, maxMs: config.reconnect.maxMs }),
      resumeSession: () => this.resumeSession(client),
      acksHeld: () => context.writeWindow?.held === true,
      acknowledgedHeld: () => context.writeWindow?.acknowledged(),
      whenBrokerReads: () => this.publisher.backlog.wait(client.stream),
      makeDurable: context.makeDurable,
    });
    context.inbound = inbound;
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
    context.state = 'connecting';
    context.logger.info(
      { broker: config.url, clientId: config.clientId, protocolVersion: context.protocolVersion },
      'mqtt connecting',
    );
    client.connect();
  }

  /** For the inbound dispatcher: true when the resume is under way or not needed any more. */
  private resumeSession(client: MqttClient): boolean {
    const context = this.context;
    // Not connected: the reconnect already under way resumes the session.
    if (client !== context.client || context.stopping !== undefined || !client.connected) return true;
    // end() would wait for these acknowledgements with publishing refused meanwhile.
    if (Object.keys(client.outgoing).length > 0) return false;
    context.logger.info('mqtt resuming the session so the broker redelivers unacknowledged messages');
    context.resuming = deferred();
    // DISCONNECT keeps the session (its expiry still runs) and discards the Will [MQTT-3.1.2-10], so the
    // status does not flap to `offline`; the stores are passed on because reconnect() would replace them.
    client.end(false);
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    return true;
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    const context = this.context;
    if (client !== context.client || context.stopping !== undefined) return;
    this.backoff.reset();
    client.options.reconnectPeriod = this.backoff.next();
    context.state = 'connected';
    this.lastFailure = undefined;
    const sessionPresent = connack.sessionPresent;
    context.logger.info({ sessionPresent, failedAttempts: this.failedAttempts }, 'mqtt connected');
    if (this.connectedOnce && !sessionPresent) {
      context.logger.warn(
        'mqtt session was not resumed (expired, or the broker lost its state): events published while the gateway was away are lost',
      );
    }
    this.failedAttempts = 0;
    // Subscribing on every connect, session or not: a broker that lost the session also lost the subscriptions.
    this.subscriptions.subscribe(client).then(
      () => {
        if (client !== context.client || context.stopping !== undefined) return;
        client.publish(context.statusTopic, ONLINE, { qos: 1, retain: true }, (error) => {
          if (error) context.logger.warn({ error: describeError(error) }, 'mqtt status publish failed');
        });
        this.connectedOnce = true;
        context.emit('connect', { sessionPresent });
        const first = context.firstConnect;
        context.firstConnect = undefined;
        first?.resolve();
      },
      (error: Error) => {
        if (error instanceof MqttError && !error.retryable && context.firstConnect !== undefined) {
          this.failStart(error);
        } else {
          context.logger.warn(
            { error: describeError(error) },
            'mqtt subscribe failed; retried on the next connect',
          );
        }
      },
    );
  }

  private onClose(client: MqttClient): void {
    const context = this.context;
    if (client !== context.client || context.stopping !== undefined) return;
    const wasConnected = context.state === 'connected';
    const failure = this.lastFailure;
    this.lastFailure = undefined;
    context.state = 'disconnected';
    const refusal = this.connackRefusal;
    this.connackRefusal = undefined;
    if (refusal !== undefined && context.firstConnect !== undefined) {
      const error = connackConfigError(context.protocolVersion, context.config.url, refusal);
      if (error !== undefined) {
        this.failStart(error);
        return;
      }
    }
    if (wasConnected) {
      const reason =
        context.resuming !== undefined ? 'session resume' : (failure?.message ?? 'connection closed');
      const level = context.resuming !== undefined ? 'info' : 'warn';
      context.logger[level](
        { reason, code: failure?.code, retryInMs: client.options.reconnectPeriod },
        'mqtt disconnected',
      );
      context.emit('disconnect', { reason });
      return;
    }
    this.failedAttempts += 1;
    const code = failure?.code;
    const tlsProblem = typeof code === 'string' && isTlsErrorCode(code);
    context.logger[tlsProblem ? 'error' : 'warn'](
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
    const context = this.context;
    if (client !== context.client) return;
    const resumed = context.resuming;
    context.resuming = undefined;
    resumed?.resolve();
    // MQTT.js arms its retry timer from options.reconnectPeriod on the next close; this is that delay.
    client.options.reconnectPeriod = this.backoff.next();
    context.state = 'connecting';
    context.logger.info({ attempt: this.failedAttempts + 1 }, 'mqtt reconnecting');
  }

  private onError(client: MqttClient, error: Error): void {
    if (client !== this.context.client) return;
    this.lastFailure = { code: (error as { code?: string | number }).code, message: error.message };
    // Before the CONNACK a failure is logged once, with the close that follows it.
    if (client.connected) this.context.logger.warn({ error: describeError(error) }, 'mqtt client error');
  }

  private onServerDisconnect(packet: IDisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const reason = ReasonCodes[code as keyof typeof ReasonCodes] ?? 'unknown';
    this.lastFailure = { code, message: `broker sent DISCONNECT: ${reason}` };
    this.context.logger.warn({ reasonCode: code, reason }, 'mqtt broker closed the session');
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd !== 'connack') return;
    const code = this.context.protocolVersion === 5 ? packet.reasonCode : packet.returnCode;
    if (code !== undefined && code !== 0) this.connackRefusal = code;
  }
}
