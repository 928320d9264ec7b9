/**
 * Small builders for MQTT adapter tests: an MqttConfig with fast test timings, and a pino logger that
 * keeps its records in memory so tests can assert on what was logged.
 */
import pino from 'pino';
import type { MqttConfig } from '../../daemon/config.js';
import type { InboundMessage, Logger, MqttTransport } from '../../daemon/ports.js';

/** Fast timings: reconnect within 50–400 ms, CONNACK within 2 s. */
export function mqttConfig(overrides: Partial<MqttConfig> & Pick<MqttConfig, 'url'>): MqttConfig {
  return {
    protocolVersion: 5,
    clientId: `test-${Math.random().toString(16).slice(2, 10)}`,
    keepaliveSec: 10,
    sessionExpirySec: 300,
    receiveMaximum: 20,
    connectTimeoutMs: 2_000,
    reconnect: { minMs: 50, maxMs: 400 },
    tls: { ca: null, cert: null, key: null, rejectUnauthorized: true },
    username: null,
    passwordFile: null,
    password: null,
    ...overrides,
  };
}

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface MemoryLogger {
  logger: Logger;
  records: LogRecord[];
  /** Records whose message contains `text`. */
  find(text: string): LogRecord[];
  /** Every record as one JSON line per record, for failure output. */
  dump(): string;
}

export function memoryLogger(level: pino.Level = 'debug'): MemoryLogger {
  const records: LogRecord[] = [];
  const logger = pino(
    { level },
    {
      write(line: string) {
        records.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  return {
    logger,
    records,
    find: (text) => records.filter((record) => typeof record.msg === 'string' && record.msg.includes(text)),
    dump: () => records.map((record) => JSON.stringify(record)).join('\n'),
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/**
 * Starts `transport` subscribed to `filter`, publishes `payload` (QoS 1) to `topic` and resolves with the
 * first payload it receives back: proof that the connection carries messages both ways. Stopped at teardown.
 */
export async function transportRoundTrip(
  t: { teardown(fn: () => void | Promise<void>): void },
  transport: MqttTransport,
  filter: string,
  topic: string,
  payload: string,
): Promise<string | undefined> {
  t.teardown(() => transport.stop());
  const received: InboundMessage[] = [];
  await transport.start([filter], (m) => {
    received.push(m);
  });
  await transport.publish(topic, payload, { qos: 1 });
  await waitFor(() => received.length === 1, 'the message back');
  return received[0]?.payload.toString();
}
