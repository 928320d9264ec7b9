/**
 * What the MQTT transport refuses before any I/O: settings it cannot honour, and topic names a broker
 * would disconnect it for.
 */
import type { MqttConfig } from '../../daemon/config.js';
import type { ConfigProblem } from '../../daemon/errors.js';

/**
 * Mosquitto disconnects a client that publishes to such a topic, and MQTT.js re-sends the stored packet
 * first on every reconnect: one bad publish would keep the gateway offline until it restarts.
 */
export function unpublishableTopic(topic: string): string | null {
  if (topic.length === 0) return 'empty topic [MQTT-4.7.3-1]';
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name [MQTT-3.3.2-2]';
  if (topic.includes('\u0000')) return 'NUL in a topic name [MQTT-1.5.4-2]';
  return null;
}

/** Every problem with the MQTT settings and the status topic, each named by its config key. */
export function checkMqttConfig(config: MqttConfig, statusTopic: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.push({ path, message });
  };
  check(
    config.protocolVersion === 4 || config.protocolVersion === 5,
    'mqtt.protocolVersion',
    'must be 4 or 5',
  );
  check(
    typeof config.clientId === 'string' && config.clientId.length > 0,
    'mqtt.clientId',
    'must be a non-empty string',
  );
  check(
    isInt(config.keepaliveSec, 0, 65_535),
    'mqtt.keepaliveSec',
    'must be an integer in [0, 65535] seconds',
  );
  check(
    isInt(config.sessionExpirySec, 0, 0xffff_ffff),
    'mqtt.sessionExpirySec',
    'must be an integer in [0, 2^32-1]',
  );
  check(isInt(config.receiveMaximum, 1, 65_535), 'mqtt.receiveMaximum', 'must be an integer in [1, 65535]');
  check(
    isInt(config.connectTimeoutMs, 1, 600_000),
    'mqtt.connectTimeoutMs',
    'must be an integer in [1, 600000] ms',
  );
  check(
    isInt(config.reconnect.minMs, 1, 3_600_000),
    'mqtt.reconnect.minMs',
    'must be an integer in [1, 3600000] ms',
  );
  check(
    isInt(config.reconnect.maxMs, config.reconnect.minMs, 3_600_000),
    'mqtt.reconnect.maxMs',
    'must be an integer in [reconnect.minMs, 3600000] ms',
  );
  check((config.tls.cert === null) === (config.tls.key === null), 'mqtt.tls', 'cert and key go together');
  const usesTls = config.tls.ca !== null || config.tls.cert !== null;
  check(
    !usesTls || config.url.startsWith('mqtts:'),
    'mqtt.tls',
    'TLS files are set but the URL is not mqtts://',
  );
  // [MQTT-3.1.2-22]: MQTT 3.1.1 sends a password only with a user name.
  check(
    !(config.protocolVersion === 4 && config.password !== null && config.username === null),
    'mqtt.username',
    'MQTT 3.1.1 needs a user name when a password is set',
  );
  check(
    unpublishableTopic(statusTopic) === null,
    'gateway.id',
    `status topic ${JSON.stringify(statusTopic)} is invalid`,
  );
  return problems;
}

function isInt(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}
