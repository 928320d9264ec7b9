/**
 * What the parts of the MQTT transport share (connection, subscriptions, publishing, shutdown): the
 * current MQTT.js client, the transport's state and its event listeners. One plain object that each part
 * reads and writes directly, so the per-message paths cost field reads, not calls through layers.
 */
import type { MqttClient } from 'mqtt';
import type { MqttConfig } from '../../daemon/config.js';
import type { DurabilityBarrier, Logger, TransportEvents, TransportState } from '../../daemon/ports.js';
import type { Deferred } from './deferred.js';
import { describeError } from './deferred.js';
import type { InboundDispatcher } from './inbound-dispatcher.js';
import type { WriteWindow } from './write-window.js';

/** Retained on the status topic on every connect. */
export const ONLINE = 'online';
/** Retained on the status topic on stop, and the Last Will. */
export const OFFLINE = 'offline';

export class TransportContext {
  readonly logger: Logger;
  readonly config: MqttConfig;
  readonly protocolVersion: 4 | 5;
  /** `infergate/<gateway.id>/status`. */
  readonly statusTopic: string;
  state: TransportState;
  /** The client of this transport; handlers of an earlier one ignore their events. */
  client: MqttClient | undefined;
  /** Set once stop() or a failed first connect began shutting down. */
  stopping: Promise<void> | undefined;
  /** What start() waits for; settled by the first connect or by a failure retrying cannot fix. */
  firstConnect: Deferred | undefined;
  /** A forced session resume under way: publishes wait for it. */
  resuming: Deferred | undefined;
  inbound: InboundDispatcher | undefined;
  makeDurable: DurabilityBarrier;
  /** The current connection's; its held writes include the PUBACKs of the messages handled this turn. */
  writeWindow: WriteWindow | undefined;
  private readonly listeners: { [E in keyof TransportEvents]: TransportEvents[E][] };

  constructor(logger: Logger, config: MqttConfig, statusTopic: string) {
    this.logger = logger;
    this.config = config;
    this.protocolVersion = config.protocolVersion;
    this.statusTopic = statusTopic;
    this.state = 'disconnected';
    this.client = undefined;
    this.stopping = undefined;
    this.firstConnect = undefined;
    this.resuming = undefined;
    this.inbound = undefined;
    this.makeDurable = () => undefined;
    this.writeWindow = undefined;
    this.listeners = { connect: [], disconnect: [] };
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    (this.listeners[event] as TransportEvents[E][]).push(listener);
  }

  emit<E extends keyof TransportEvents>(event: E, info: Parameters<TransportEvents[E]>[0]): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (info: Parameters<TransportEvents[E]>[0]) => void)(info);
      } catch (error) {
        this.logger.error({ event, error: describeError(error) }, 'mqtt transport listener threw');
      }
    }
  }

  /** Before the turn's held writes leave: the events their PUBACKs acknowledge go on record first. */
  releaseAcks(): void {
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
}
