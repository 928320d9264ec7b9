/** CONNACK refusals that retrying cannot fix: on the first connect they fail start() at once. */
import { ErrorCodes, MqttError } from '../../daemon/errors.js';

const CONNACK_CONFIG_CODES: Record<4 | 5, Record<number, string>> = {
  4: {
    1: 'unacceptable protocol version',
    2: 'identifier rejected',
    4: 'bad user name or password',
    5: 'not authorized',
  },
  5: {
    // A 3.1.1-only broker answers an MQTT 5 CONNECT with its own return code 1 (aedes does).
    1: 'unacceptable protocol version',
    0x84: 'unsupported protocol version',
    0x85: 'client identifier not valid',
    0x86: 'bad user name or password',
    0x87: 'not authorized',
    0x8c: 'bad authentication method',
  },
};

/** The error to end start() with for refusal `code`, or undefined when a later attempt may succeed. */
export function connackConfigError(protocolVersion: 4 | 5, url: string, code: number): MqttError | undefined {
  const reason = CONNACK_CONFIG_CODES[protocolVersion][code];
  if (reason === undefined) return undefined;
  return new MqttError(
    ErrorCodes.MQTT_CONNECT,
    `broker ${url} refused the connection: ${reason} (CONNACK ${code})` +
      (code === 1 || code === 0x84
        ? `; it does not speak MQTT ${protocolVersion === 5 ? '5 (set mqtt.protocolVersion to 4)' : '3.1.1'}`
        : ''),
    { retryable: false },
  );
}
