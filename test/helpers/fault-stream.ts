/**
 * The "terminal side" of the fault tests: a publisher that streams ATM events open-loop at a fixed rate and
 * counts an event as published only once its PUBACK arrived, and a collector that records every decision.
 * Both use MQTT 5 persistent sessions (clean: false, a session expiry, a fixed client id), like the daemon,
 * so a broker restart or a cut link queues for them instead of dropping what they missed.
 */
import mqtt, { UniqueMessageIdProvider, type MqttClient } from 'mqtt';
import { atmEvent, messageBody, sleep } from './gateway-process.js';

export interface SessionClientOptions {
  clientId: string;
  /** Default 300 s. */
  sessionExpirySec?: number;
  /** Default 200 ms; short, so a restarted broker is found quickly. */
  reconnectPeriodMs?: number;
}

/** An MQTT 5 client on a persistent session; resolves once connected. Ended (forcefully) at teardown. */
export async function sessionClient(
  t: { teardown(fn: () => void | Promise<void>): void },
  url: string,
  options: SessionClientOptions,
): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: false,
    properties: { sessionExpiryInterval: options.sessionExpirySec ?? 300 },
    reconnectPeriod: options.reconnectPeriodMs ?? 200,
    connectTimeout: 2_000,
    keepalive: 10,
    // The default provider loses queued publishes past 65,535 (FACTS); unique ids keep every one.
    messageIdProvider: new UniqueMessageIdProvider(),
  });
  client.on('error', () => undefined);
  t.teardown(() => client.endAsync(true));
  if (!client.connected) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.clientId}: no CONNACK within 5 s`)), 5_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return client;
}

export interface Decision {
  topic: string;
  id: string;
  /** decision/source/reason/score, the fields that must not differ between answers for one id. */
  key: string;
  body: Record<string, unknown>;
  correlation: string | undefined;
  dup: boolean;
}

export interface DecisionCollector {
  readonly client: MqttClient;
  readonly decisions: Decision[];
  /** Decisions by id, in arrival order. */
  readonly byId: Map<string, Decision[]>;
  /**
   * Resolves when every id in `ids` has at least one decision, after `timeoutMs`, or (when given) once no
   * decision arrived for `quietMs`: for runs where some ids are expected to stay unanswered. Never throws.
   */
  waitForAll(ids: Iterable<string>, timeoutMs: number, quietMs?: number): Promise<void>;
}

/** Records every decision on `filters` (QoS 1) for a client on a persistent session. */
export async function decisionCollector(
  t: { teardown(fn: () => void | Promise<void>): void },
  url: string,
  clientId: string,
  filters: string[],
): Promise<DecisionCollector> {
  const client = await sessionClient(t, url, { clientId });
  const decisions: Decision[] = [];
  const byId = new Map<string, Decision[]>();
  client.on('message', (topic, payload, packet) => {
    const body = messageBody(payload);
    const id = String(body.id);
    const decision: Decision = {
      topic,
      id,
      key: JSON.stringify([body.decision, body.source, body.reason, body.score]),
      body,
      correlation: packet.properties?.correlationData?.toString('utf8'),
      dup: packet.dup,
    };
    decisions.push(decision);
    const list = byId.get(id) ?? [];
    list.push(decision);
    byId.set(id, list);
  });
  const granted = await client.subscribeAsync(filters, { qos: 1 });
  if (granted.some((g) => g.qos >= 0x80)) throw new Error(`subscription refused: ${JSON.stringify(granted)}`);
  return {
    client,
    decisions,
    byId,
    async waitForAll(ids, timeoutMs, quietMs = Infinity) {
      const wanted = [...ids];
      const deadline = performance.now() + timeoutMs;
      let seen = decisions.length;
      let lastChange = performance.now();
      while (performance.now() < deadline && wanted.some((id) => !byId.has(id))) {
        await sleep(50);
        if (decisions.length !== seen) {
          seen = decisions.length;
          lastChange = performance.now();
        } else if (performance.now() - lastChange >= quietMs) {
          return;
        }
      }
    },
  };
}

/**
 * The terminal side of one fault test: a collector of the decisions on `reply/#` and a publisher, each on a
 * persistent session whose client id carries `name` and this process's pid (unique across parallel tests).
 */
export async function startTerminals(
  t: { teardown(fn: () => void | Promise<void>): void },
  url: string,
  name: string,
): Promise<{ collector: DecisionCollector; publisher: MqttClient }> {
  const tag = `${name}-${process.pid}`;
  const collector = await decisionCollector(t, url, `collector-${tag}`, ['reply/#']);
  const publisher = await sessionClient(t, url, { clientId: `publisher-${tag}` });
  return { collector, publisher };
}

export interface EventStream {
  /** Ids in publish order. */
  readonly ids: string[];
  /** Ids whose PUBACK arrived: the events the broker took responsibility for. */
  readonly acked: Set<string>;
  readonly errors: { id: string; message: string }[];
  /** Resolves when every event was handed to the client (not when acknowledged). */
  readonly sent: Promise<void>;
  /** Resolves when every publish got its PUBACK or failed, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
}

export interface StreamOptions {
  count: number;
  /** Events per second, open loop: event i is due at start + i/rate whatever the broker or gateway do. */
  rate: number;
  idPrefix: string;
  /** Response topic for event i; decisions then go there with the id as Correlation Data. Default `reply/T<n>`. */
  replyTopic?: (i: number) => string;
  /** Terminals the events are spread over (`atm/T<n>/tx`). */
  terminals?: number;
  messageExpirySec?: number;
}

/**
 * Publishes `count` ATM events QoS 1 at `rate`/s. MQTT.js stores publishes made while disconnected and sends
 * them on reconnect (same persistent session), so the stream keeps its schedule through a broker outage.
 */
export function streamEvents(client: MqttClient, options: StreamOptions): EventStream {
  const ids: string[] = [];
  const acked = new Set<string>();
  const errors: { id: string; message: string }[] = [];
  let outstanding = 0;
  const terminals = options.terminals ?? 7;
  const sent = (async () => {
    const start = performance.now();
    for (let i = 0; i < options.count; i++) {
      const due = start + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const id = `${options.idPrefix}-${i}`;
      ids.push(id);
      outstanding += 1;
      client.publish(
        `atm/T${i % terminals}/tx`,
        JSON.stringify(atmEvent(id, { amount: 10 + (i % 500) * 7.5, hour: i % 24, pinTries: 1 + (i % 3) })),
        {
          qos: 1,
          properties: {
            responseTopic: options.replyTopic?.(i) ?? `reply/T${i % terminals}`,
            correlationData: Buffer.from(id),
            ...(options.messageExpirySec !== undefined
              ? { messageExpiryInterval: options.messageExpirySec }
              : {}),
          },
        },
        (error) => {
          outstanding -= 1;
          if (error) errors.push({ id, message: error.message });
          else acked.add(id);
        },
      );
    }
  })();
  return {
    ids,
    acked,
    errors,
    sent,
    async settled(timeoutMs) {
      await sent;
      const until = performance.now() + timeoutMs;
      while (outstanding > 0 && performance.now() < until) await sleep(50);
    },
  };
}

export interface Verdict {
  published: number;
  answered: number;
  unanswered: string[];
  /** Answers beyond the first for an id (redeliveries answered from the decision log). */
  repeats: number;
  /** Ids whose answers differ in decision, source, reason or score. */
  conflicting: string[];
  /** Answers by source/reason, first answer per id. */
  reasons: Record<string, number>;
}

/** Every published id answered at least once, all answers for one id identical. */
export function verdict(published: Iterable<string>, collector: DecisionCollector): Verdict {
  const ids = [...published];
  const unanswered = ids.filter((id) => !collector.byId.has(id));
  const conflicting: string[] = [];
  const reasons: Record<string, number> = {};
  let repeats = 0;
  let answered = 0;
  for (const id of ids) {
    const answers = collector.byId.get(id);
    if (answers === undefined) continue;
    answered += 1;
    repeats += answers.length - 1;
    if (new Set(answers.map((a) => a.key)).size > 1) conflicting.push(id);
    const first = answers[0].body;
    const outcome = `${String(first.source)}/${String(first.reason)}`;
    reasons[outcome] = (reasons[outcome] ?? 0) + 1;
  }
  return { published: ids.length, answered, unanswered, repeats, conflicting, reasons };
}

export function describeVerdict(v: Verdict): string {
  const outcomes = Object.entries(v.reasons)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `published ${v.published}, answered ${v.answered}, lost ${v.unanswered.length}, ` +
    `repeats ${v.repeats}, conflicting ${v.conflicting.length} (${outcomes})`
  );
}

/** Polls `condition` every 20 ms; false after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
