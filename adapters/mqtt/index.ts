/**
 * MQTT adapter: the gateway's client behind the MqttTransport port, and the embedded broker (aedes) for a
 * one-command start.
 */
export { createMqttTransport, type MqttTransportDeps } from './transport.js';
export { createEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerDeps } from './embedded-broker.js';
