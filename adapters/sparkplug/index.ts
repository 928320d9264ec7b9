/**
 * Sparkplug B (3.0) for infergate: the `sparkplug` payload decoder and the host layer over the MQTT
 * transport that tracks BIRTHs, asks for rebirths, writes decisions back as commands and publishes the
 * Host Application STATE. One factory; it validates and does no I/O (the transport's `start` does).
 */
import type { InputLimits, MqttConfig, SparkplugConfig } from '../../daemon/config.js';
import type { Clock, Logger, MqttTransport, PayloadDecoder } from '../../daemon/ports.js';
import { systemClock } from '../../daemon/ports.js';
import { BirthRegistry, DEFAULT_REGISTRY_LIMITS, type Observation } from './birth-registry.js';
import { CommandWriter } from './command-writer.js';
import { createSparkplugDecoder } from './decoder.js';
import { HostState } from './host-state.js';
import { SparkplugHostTransport } from './host-transport.js';
import { RebirthRequester } from './rebirth-requester.js';

export interface SparkplugDeps {
  config: SparkplugConfig;
  /** The gateway's connection settings; the STATE session uses them with a client id of its own. */
  mqtt: MqttConfig;
  limits: InputLimits;
  /** The gateway's transport, which the host layer wraps. */
  transport: MqttTransport;
  logger: Logger;
  clock?: Clock;
}

export interface Sparkplug {
  /** The `sparkplug` pipeline decoder. */
  decoder: PayloadDecoder;
  /** Give this to the core in place of the wrapped transport; non-Sparkplug topics pass through it. */
  transport: MqttTransport;
}

/** Decided events whose command is still to be written, at most. */
const MAX_PENDING_COMMANDS = 10_000;

export function createSparkplug(deps: SparkplugDeps): Sparkplug {
  const { config, mqtt, limits, transport } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'sparkplug' });
  const registry = new BirthRegistry(DEFAULT_REGISTRY_LIMITS);
  const observed = new WeakMap<Buffer, Observation>();
  // Commands go out on the gateway's own connection, through the host layer created below.
  const command = (topic: string, payload: Buffer): Promise<void> => host.command(topic, payload);
  const rebirth = new RebirthRequester({
    publish: command,
    minIntervalMs: config.rebirthMinIntervalMs,
    clock,
    logger,
    maxEdgeNodes: DEFAULT_REGISTRY_LIMITS.maxEdgeNodes,
  });
  const commands = new CommandWriter({
    config: config.commands,
    publish: command,
    isBorn: (group, edge, device) => registry.isBorn(group, edge, device),
    clock,
    logger,
    maxPending: MAX_PENDING_COMMANDS,
  });
  const hostState =
    config.hostId === null ? null : new HostState({ hostId: config.hostId, mqtt, clock, logger });
  const host = new SparkplugHostTransport({
    inner: transport,
    registry,
    rebirth,
    commands,
    hostState,
    observed,
    maxPayloadBytes: limits.maxPayloadBytes,
    logger,
  });
  const decoder = createSparkplugDecoder({
    registry,
    observed,
    eventIdMetric: config.eventIdMetric,
    maxPayloadBytes: limits.maxPayloadBytes,
    onEvent: (eventId, topic) => commands.expect(eventId, topic),
  });
  return { decoder, transport: host };
}
