/**
 * The MQTT.js options of the gateway's client: a persistent session, no automatic resubscribe (the
 * transport subscribes on every connect itself), the retained `offline` status as Last Will, and the
 * settings that keep MQTT.js's own costs per packet and per queued publish bounded.
 */
import { Store, UniqueMessageIdProvider, type IClientOptions } from 'mqtt';
import type { MqttConfig } from '../../daemon/config.js';
import { OFFLINE } from './transport-context.js';

export function mqttClientOptions(
  config: MqttConfig,
  statusTopic: string,
  reconnectPeriodMs: number,
): IClientOptions {
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
    reconnectPeriod: reconnectPeriodMs,
    // A refused CONNACK would otherwise stop reconnecting for good; config-level refusals end start() instead.
    reconnectOnConnackError: true,
    resubscribe: false,
    // The default provider plus a packet-id-keyed store silently drops queued publishes past 65,535.
    messageIdProvider: new UniqueMessageIdProvider(),
    // `clean: false` stores survive the end()/reconnect() of a forced session resume; the defaults are wiped.
    incomingStore: new Store({ clean: false }),
    outgoingStore: new Store({ clean: false }),
    queueQoSZero: false,
    // The write cache is 65,536 pre-built packet-id buffers held on the heap and walked by every full GC,
    // to save writing two bytes per packet.
    writeCache: false,
    // MQTT.js formats a debug line for every packet even when debugging is off: a cost per event.
    log: () => {},
    manualConnect: true,
    username: config.username ?? undefined,
    password: config.password ?? undefined,
    will: { topic: statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
  };
}
