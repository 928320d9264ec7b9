/**
 * The one-command-start broker: aedes on a local TCP port. MQTT 3.1.1 only and no shared subscriptions
 * (aedes 1.2.0), fine for a demo or a single-box install; production boxes run Mosquitto.
 */
import net from 'node:net';
import type { Aedes, Client, ConnectPacket } from 'aedes';
import type { EmbeddedBrokerConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, MqttError, type ConfigProblem } from '../../daemon/errors.js';
import type { Logger } from '../../daemon/ports.js';

export interface EmbeddedBrokerDeps {
  logger: Logger;
  config: EmbeddedBrokerConfig;
}

export interface EmbeddedBroker {
  /** Listens on config.host:config.port (0 = an ephemeral port); resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  /** Closes every client connection and the listener. Idempotent, bounded. */
  stop(): Promise<void>;
  /** The bound port once started, config.port before. */
  readonly port: number;
}

/** stop(): clients get this long to close before their sockets are destroyed, milliseconds. */
const STOP_TIMEOUT_MS = 2_000;
/** Protocol Level of an MQTT 5 CONNECT (MQTT 5 §3.1.2.2). */
const MQTT_5 = 5;

export function createEmbeddedBroker(deps: EmbeddedBrokerDeps): EmbeddedBroker {
  const problems: ConfigProblem[] = [];
  const { host, port } = deps.config;
  if (typeof host !== 'string' || host.length === 0) {
    problems.push({ path: 'broker.embedded.host', message: 'must be a host name or address' });
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push({
      path: 'broker.embedded.port',
      message: 'must be an integer in [0, 65535] (0 = ephemeral)',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return new AedesBroker(deps);
}

class AedesBroker implements EmbeddedBroker {
  private readonly logger: Logger;
  private readonly config: EmbeddedBrokerConfig;
  private readonly sockets: Set<net.Socket>;
  private aedes: Aedes | undefined;
  private server: net.Server | undefined;
  private boundPort: number | undefined;
  private starting: Promise<{ host: string; port: number }> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: EmbeddedBrokerDeps) {
    this.logger = deps.logger.child({ component: 'embedded-broker' });
    this.config = deps.config;
    this.sockets = new Set();
    this.aedes = undefined;
    this.server = undefined;
    this.boundPort = undefined;
    this.starting = undefined;
    this.stopping = undefined;
  }

  get port(): number {
    return this.boundPort ?? this.config.port;
  }

  start(): Promise<{ host: string; port: number }> {
    if (this.stopping !== undefined && this.starting === undefined) {
      return Promise.reject(
        new MqttError(ErrorCodes.BROKER_START, 'embedded broker was stopped', { retryable: false }),
      );
    }
    this.starting ??= this.listen();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.config;
    const address = `${host}:${port}`;
    // Imported here, not at the top: the entry point always imports this module, and aedes with its
    // dependencies was ~1 MiB of RSS at ready on gateways that use an external broker (most of them).
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({
      preConnect: (client, packet, done) => this.preConnect(client, packet, done),
    });
    this.aedes = aedes;
    aedes.on('subscribe', (subscriptions, client) => {
      for (const { topic } of subscriptions) {
        if (topic.startsWith('$share/')) {
          this.logger.warn(
            { clientId: client.id, filter: topic },
            'the embedded broker has no shared subscriptions: this filter is taken literally and receives nothing',
          );
        }
      }
    });
    aedes.on('clientError', (client, error) => {
      this.logger.debug(
        { clientId: client.id, error: { message: error.message } },
        'embedded broker client error',
      );
    });
    aedes.on('connectionError', (_client, error) => {
      this.logger.debug({ error: { message: error.message } }, 'embedded broker connection error');
    });

    const server = net.createServer((socket) => {
      // Nagle would add its delayed-ACK wait to every small PUBLISH/PUBACK we relay.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new MqttError(ErrorCodes.BROKER_START, `embedded broker cannot listen on ${address}: ${code}`, {
        retryable: code === 'EADDRINUSE',
        cause: error,
      });
    }
    server.on('error', (error) =>
      this.logger.error({ error: { message: error.message } }, 'embedded broker listener error'),
    );
    this.boundPort = (server.address() as net.AddressInfo).port;
    this.logger.info({ host, port: this.boundPort }, 'embedded broker listening (MQTT 3.1.1 only)');
    return { host, port: this.boundPort };
  }

  private preConnect(
    _client: Client,
    packet: ConnectPacket,
    done: (error: Error | null, ok: boolean) => void,
  ): void {
    if (packet.protocolVersion === MQTT_5) {
      // aedes answers CONNACK "unacceptable protocol version" [MQTT-3.1.2-2] right after this hook.
      this.logger.warn(
        { clientId: packet.clientId, protocolVersion: packet.protocolVersion },
        'embedded broker refused an MQTT 5 client: aedes speaks MQTT 3.1.1 only; set mqtt.protocolVersion to 4',
      );
    }
    done(null, true);
  }

  private async close(): Promise<void> {
    // A stop during start waits for it, so the listener it is opening gets closed too.
    await this.starting?.catch(() => undefined);
    const aedes = this.aedes;
    const server = this.server;
    if (aedes === undefined) return;
    const serverClosed = new Promise<void>((resolve) => {
      if (server === undefined || !server.listening) resolve();
      else server.close(() => resolve());
    });
    const aedesClosed = new Promise<void>((resolve) => aedes.close(() => resolve()));
    const timedOut = await Promise.race([
      aedesClosed.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS).unref()),
    ]);
    if (timedOut)
      this.logger.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'embedded broker clients did not close in time');
    // Connections that never sent CONNECT are not aedes clients; they would hold server.close() open.
    for (const socket of this.sockets) socket.destroy();
    await serverClosed;
    this.logger.info('embedded broker stopped');
  }
}
