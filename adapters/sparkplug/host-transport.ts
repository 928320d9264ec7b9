/**
 * The gateway as a Sparkplug B Host Application, as a layer over the MQTT transport: the core keeps seeing
 * one transport, one message at a time, and never learns Sparkplug's session rules.
 *
 * - Subscriptions: a pipeline's DATA filter is widened to every message of its edge nodes that carries
 *   `seq` or changes BIRTH state (NBIRTH, NDEATH, NDATA, DBIRTH, DDEATH, DDATA), on the same connection,
 *   so BIRTHs and DATA are seen in the order the edge node sent them.
 * - Intake: BIRTH and DEATH certificates update the registry and are acknowledged here; DATA moves the
 *   node's seq on, in arrival order, and goes to the core only when a pipeline subscribed to it. Whatever
 *   leaves the node's state untrustworthy (no BIRTH, DEATH, seq gap, unknown alias) asks for a rebirth.
 * - Publishes: a decision of a Sparkplug event is also (or instead) written back as a DCMD/NCMD.
 */
import type {
  Logger,
  MessageHandler,
  MqttTransport,
  PublishOptions,
  TransportEvents,
} from '../../daemon/ports.js';
import type { DurabilityBarrier, InboundMessage } from '../../daemon/ports.js';
import { matchTopic } from '../../daemon/topics.js';
import type { BirthRegistry, Observation } from './birth-registry.js';
import type { CommandWriter } from './command-writer.js';
import type { HostState } from './host-state.js';
import { decodeSparkplugPayload, loadSparkplugCodec, type RawPayload } from './payload.js';
import type { RebirthRequester } from './rebirth-requester.js';
import {
  hostSubscriptions,
  parseDataFilter,
  parseSparkplugTopic,
  type NodeScope,
  type SparkplugTopic,
} from './topic.js';

export interface HostTransportDeps {
  inner: MqttTransport;
  registry: BirthRegistry;
  rebirth: RebirthRequester;
  commands: CommandWriter;
  /** Null without `sparkplug.hostId`. */
  hostState: HostState | null;
  /** Filled here for the decoder (see SparkplugDecoderDeps.observed). */
  observed: WeakMap<Buffer, Observation>;
  /** DATA larger than this is left to the decoder to refuse; BIRTHs larger than MAX_BIRTH_BYTES are ignored. */
  maxPayloadBytes: number;
  logger: Logger;
}

/** A BIRTH declares every metric of a node or device: it may be far larger than one event. */
export const MAX_BIRTH_BYTES = 4 * 1024 * 1024;

export class SparkplugHostTransport implements MqttTransport {
  private readonly deps: HostTransportDeps;
  private readonly inner: MqttTransport;
  private readonly log: Logger;
  /** The pipelines' Sparkplug DATA filters: DATA matching none of them only moves seq on. */
  private dataFilters: string[] = [];

  constructor(deps: HostTransportDeps) {
    this.deps = deps;
    this.inner = deps.inner;
    this.log = deps.logger;
  }

  get protocolVersion(): 4 | 5 {
    return this.inner.protocolVersion;
  }

  get state(): MqttTransport['state'] {
    return this.inner.state;
  }

  get intakeHolds(): number {
    return this.inner.intakeHolds;
  }

  async start(
    subscriptions: readonly string[],
    onMessage: MessageHandler,
    makeDurable?: DurabilityBarrier,
  ): Promise<void> {
    const { hostState } = this.deps;
    if (hostState !== null) {
      // The transport emits `connect` once its subscriptions are in place: edge nodes that rebirth when
      // the host comes online are then heard (3.0 §7.5: subscribe first, then publish the STATE birth).
      this.inner.on('connect', () => void hostState.open());
      this.inner.on('disconnect', () => void hostState.close());
    }
    await this.inner.start(
      this.widen(subscriptions),
      (message) => this.onMessage(message, onMessage),
      makeDurable,
    );
  }

  setSubscriptions(subscriptions: readonly string[]): Promise<void> {
    return this.inner.setSubscriptions(this.widen(subscriptions));
  }

  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    return this.deps.commands.intercept(payload) ?? this.inner.publish(topic, payload, options);
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.inner.on(event, listener);
  }

  async stop(): Promise<void> {
    await this.deps.hostState?.stop();
    await this.inner.stop();
  }

  /** Publishes a Sparkplug command (3.0 §7.4: NCMD and DCMD are QoS 0, not retained). */
  command(topic: string, payload: Buffer): Promise<void> {
    return this.inner.publish(topic, payload, { qos: 0 });
  }

  private widen(subscriptions: readonly string[]): string[] {
    const others: string[] = [];
    const data: string[] = [];
    const scopes: NodeScope[] = [];
    for (const filter of subscriptions) {
      const parsed = parseDataFilter(filter);
      if (typeof parsed === 'string') others.push(filter);
      else {
        data.push(filter);
        scopes.push({ group: parsed.group, edge: parsed.edge });
      }
    }
    this.dataFilters = data;
    // Before the first Sparkplug message can arrive, not in its handler.
    if (data.length > 0) loadSparkplugCodec();
    return [...new Set([...others, ...hostSubscriptions(scopes)])];
  }

  private onMessage(message: InboundMessage, next: MessageHandler): void | Promise<void> {
    const topic = parseSparkplugTopic(message.topic);
    if (topic === null) return next(message);
    const isData = topic.type === 'NDATA' || topic.type === 'DDATA';
    const forPipeline =
      isData && this.dataFilters.some((filter) => matchTopic(filter, message.topic) !== null);
    if (topic.type === 'NCMD' || topic.type === 'DCMD') return;
    const limit = isData ? this.deps.maxPayloadBytes : MAX_BIRTH_BYTES;
    let payload: RawPayload | undefined;
    if (message.payload.length > 0 && message.payload.length <= limit) {
      try {
        payload = decodeSparkplugPayload(message.payload);
      } catch {
        // Refused by the decoder for a pipeline's DATA; for anything else, only noted.
      }
    }
    if (payload === undefined) {
      if (!forPipeline)
        this.log.warn(
          { topic: message.topic, size: message.payload.length },
          'sparkplug message not readable; ignored',
        );
      return forPipeline ? next(message) : undefined;
    }
    const observation = this.deps.registry.apply(topic, payload);
    this.react(topic, observation);
    if (!forPipeline) return;
    this.deps.observed.set(message.payload, observation);
    return next(message);
  }

  private react(topic: SparkplugTopic, observation: Observation): void {
    if (observation.ignored !== null) {
      this.log.info(
        {
          type: topic.type,
          group: topic.group,
          edgeNode: topic.edge,
          device: topic.device,
          why: observation.ignored,
        },
        'sparkplug message not applied',
      );
    }
    if (observation.rebirth) {
      const reason = observation.refusal?.code ?? observation.ignored ?? topic.type;
      this.deps.rebirth.request(topic.group, topic.edge, reason);
    }
  }
}
