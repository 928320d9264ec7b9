/**
 * The gateway's MQTT client: MQTT.js behind the MqttTransport port. QoS 1 in on a persistent session, the
 * PUBACK only after the core recorded the event, QoS 1 out, a retained status topic, jittered reconnect.
 * One concern per module: connection.ts (connect, reconnect, status, session resume), subscriptions.ts,
 * publishing.ts (topic checks, acknowledgements, outbound backlog) and shutdown.ts, sharing one
 * TransportContext; this class is the port they are seen through.
 */
import type { MqttConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, MqttError } from '../../daemon/errors.js';
import type {
  DurabilityBarrier,
  Logger,
  MessageHandler,
  MqttTransport,
  PublishOptions,
  TransportEvents,
  TransportState,
} from '../../daemon/ports.js';
import { checkMqttConfig } from './config-check.js';
import { MqttConnection } from './connection.js';
import { parseMqttEndpoint, readTlsMaterial, type MqttEndpoint } from './endpoint.js';
import { MqttPublisher } from './publishing.js';
import { shutDownTransport } from './shutdown.js';
import { MqttSubscriptions } from './subscriptions.js';
import { TransportContext } from './transport-context.js';

export interface MqttTransportDeps {
  logger: Logger;
  config: MqttConfig;
  /** `infergate/<gateway.id>/status`: retained `online` on every connect, `offline` as Last Will and on stop. */
  statusTopic: string;
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
  private readonly context: TransportContext;
  private readonly endpoint: MqttEndpoint;
  private readonly subscriptions: MqttSubscriptions;
  private readonly publisher: MqttPublisher;
  private readonly connection: MqttConnection;
  private started: boolean;

  constructor(deps: MqttTransportDeps, endpoint: MqttEndpoint) {
    const context = new TransportContext(
      deps.logger.child({ component: 'mqtt' }),
      deps.config,
      deps.statusTopic,
    );
    this.protocolVersion = deps.config.protocolVersion;
    this.context = context;
    this.endpoint = endpoint;
    this.subscriptions = new MqttSubscriptions(context);
    this.publisher = new MqttPublisher(context);
    this.connection = new MqttConnection({
      context,
      endpoint,
      subscriptions: this.subscriptions,
      publisher: this.publisher,
      failStart: (error) => this.failStart(error),
    });
    this.started = false;
  }

  get intakeHolds(): number {
    return this.publisher.backlog.held;
  }

  get state(): TransportState {
    return this.context.state;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.context.on(event, listener);
  }

  async start(
    subscriptions: readonly string[],
    onMessage: MessageHandler,
    makeDurable: DurabilityBarrier = () => undefined,
  ): Promise<void> {
    const context = this.context;
    const config = context.config;
    if (this.started || context.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport was already started', {
        retryable: false,
      });
    }
    this.started = true;
    this.subscriptions.use(subscriptions);
    const material = await readTlsMaterial(config);
    if (context.stopping !== undefined) {
      throw new MqttError(ErrorCodes.MQTT_CONNECT, 'mqtt transport stopped before it connected', {
        retryable: false,
      });
    }
    if (this.protocolVersion === 5 && config.sessionExpirySec === 0) {
      context.logger.warn(
        'mqtt.sessionExpirySec is 0: the broker drops the session on every disconnect, and events published meanwhile are lost',
      );
    }
    if (this.endpoint.kind === 'tcp' && this.endpoint.tls && !config.tls.rejectUnauthorized) {
      context.logger.warn('mqtt.tls.rejectUnauthorized is false: the broker certificate is not verified');
    }
    context.makeDurable = makeDurable;
    this.connection.connect(material, onMessage);
    return context.firstConnect!.promise;
  }

  setSubscriptions(subscriptions: readonly string[]): Promise<void> {
    return this.subscriptions.replace(subscriptions);
  }

  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    return this.publisher.publish(topic, payload, options);
  }

  stop(): Promise<void> {
    this.context.stopping ??= shutDownTransport(this.context, this.publisher, true);
    return this.context.stopping;
  }

  private failStart(error: MqttError): void {
    const context = this.context;
    const first = context.firstConnect;
    context.firstConnect = undefined;
    context.logger.error({ code: error.code }, error.message);
    context.stopping ??= shutDownTransport(context, this.publisher, false);
    void context.stopping.then(() => first?.reject(error));
  }
}
