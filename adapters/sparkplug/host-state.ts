/**
 * The Sparkplug 3.0 Host Application state (§7.5): `spBv1.0/STATE/<host id>`, retained, QoS 1, JSON
 * `{"online": true|false, "timestamp": <ms>}`, the offline one as the connection's Will, with the same
 * timestamp as the online one it ends.
 *
 * It has a connection of its own. MQTT allows one Will per connection, and the gateway's connection already
 * carries `infergate/<id>/status` as its Will (the external contract); and 3.0 wants the host's session
 * clean (§7.5: Clean Start true, Session Expiry 0), while the gateway's connection keeps a persistent
 * session so events published while it restarts are not lost. The STATE session follows the gateway's
 * connection: opened (online) after the gateway's connection has subscribed, closed (offline) when it
 * drops, so edge nodes never see the host online while it cannot hear them. Each open uses a new timestamp
 * and so a new Will: edge nodes drop STATE messages older than the newest they saw.
 */
import { MqttClient, type IClientOptions } from 'mqtt';
import type { MqttConfig } from '../../daemon/config.js';
import type { Clock, Logger } from '../../daemon/ports.js';
import {
  createStreamBuilder,
  parseMqttEndpoint,
  readTlsMaterial,
  type TlsMaterial,
} from '../mqtt/endpoint.js';
import { NAMESPACE } from './topic.js';

export interface HostStateDeps {
  hostId: string;
  mqtt: MqttConfig;
  clock: Clock;
  logger: Logger;
}

/** Bound on publishing the offline state before a close gives up on it, ms. */
const CLOSE_TIMEOUT_MS = 2000;

export function stateTopic(hostId: string): string {
  return `${NAMESPACE}/STATE/${hostId}`;
}

export function statePayload(online: boolean, timestamp: number): string {
  return JSON.stringify({ online, timestamp });
}

export class HostState {
  private readonly deps: HostStateDeps;
  private readonly topic: string;
  private material: TlsMaterial | undefined;
  private client: MqttClient | undefined;
  private timestamp = 0;
  /** Opens and closes run one after another, in call order. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(deps: HostStateDeps) {
    this.deps = deps;
    this.topic = stateTopic(deps.hostId);
  }

  /** Starts a STATE session: connects with the offline Will, publishes online. */
  open(): Promise<void> {
    return this.enqueue(() => this.doOpen());
  }

  /** Publishes offline and ends the session. */
  close(): Promise<void> {
    return this.enqueue(() => this.doClose());
  }

  /** Closes for good: a later `open` does nothing. Idempotent. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.enqueue(() => this.doClose());
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step, step).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, topic: this.topic }, 'sparkplug host state not published');
    });
    return this.chain;
  }

  private async doOpen(): Promise<void> {
    if (this.stopped || this.client !== undefined) return;
    const { mqtt: config } = this.deps;
    const endpoint = parseMqttEndpoint(config.url);
    if (typeof endpoint === 'string') throw new Error(`mqtt.url: ${endpoint}`);
    this.material ??= await readTlsMaterial(config);
    // Never older than the last one: edge nodes ignore a STATE older than the newest they saw.
    this.timestamp = Math.max(this.deps.clock.now(), this.timestamp + 1);
    const timestamp = this.timestamp;
    const options: IClientOptions = {
      protocolVersion: config.protocolVersion,
      clientId: `${config.clientId}-spb-host`,
      clean: true,
      keepalive: config.keepaliveSec,
      connectTimeout: config.connectTimeoutMs,
      reconnectPeriod: config.reconnect.minMs,
      username: config.username ?? undefined,
      password: config.password ?? undefined,
      will: { topic: this.topic, payload: Buffer.from(statePayload(false, timestamp)), qos: 1, retain: true },
      log: () => {},
    };
    const client = new MqttClient(
      createStreamBuilder(endpoint, this.material, config.tls.rejectUnauthorized),
      options,
    );
    this.client = client;
    client.on('connect', () => {
      // 3.0 §7.5: subscribe to our own STATE topic, then publish the birth.
      client.subscribe(this.topic, { qos: 1 }, () => {
        client.publish(this.topic, statePayload(true, timestamp), { qos: 1, retain: true });
      });
      this.deps.logger.info({ topic: this.topic, timestamp }, 'sparkplug host online');
    });
    client.on('message', (_topic, payload) => {
      // Someone said we are offline while we are not: say online again (3.0 §7.5). The retained offline of
      // an earlier session (older timestamp) is history, not a claim about this one.
      const state = readState(payload);
      if (state !== null && !state.online && state.timestamp >= timestamp && this.client === client) {
        client.publish(this.topic, statePayload(true, timestamp), { qos: 1, retain: true });
      }
    });
    client.on('error', (error) => {
      this.deps.logger.debug({ err: error }, 'sparkplug host state connection error');
    });
  }

  private async doClose(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    this.client = undefined;
    if (client.connected) {
      await withTimeout(
        client.publishAsync(this.topic, statePayload(false, this.timestamp), { qos: 1, retain: true }),
        CLOSE_TIMEOUT_MS,
      ).catch(() => undefined);
    }
    await withTimeout(client.endAsync(!client.connected), CLOSE_TIMEOUT_MS).catch(() => client.end(true));
    this.deps.logger.info({ topic: this.topic }, 'sparkplug host offline');
  }
}

function readState(payload: Buffer): { online: boolean; timestamp: number } | null {
  try {
    const body = JSON.parse(payload.toString('utf8')) as { online?: unknown; timestamp?: unknown };
    if (typeof body.online !== 'boolean' || typeof body.timestamp !== 'number') return null;
    return { online: body.online, timestamp: body.timestamp };
  } catch {
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
