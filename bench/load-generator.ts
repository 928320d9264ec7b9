/**
 * Open-loop load generator: publishes events of one shape (ATM transactions or wide inspection records) at a fixed rate whatever the system under test does, and
 * times each event from the publish call to the arrival of its decision. A closed loop (send the next event
 * when the previous one is answered) slows down with the system and hides queueing; real terminals do not
 * wait for each other.
 *
 * Runs in its own process so its timers and sends never share an event loop with a system under test.
 *
 *   node dist/bench/load-generator.js --url mqtt://127.0.0.1:PORT --target bare --topic-prefix bare \
 *     --rate 1000 --duration 10 [--warmup 2] [--drain 3] [--budget 300] [--cpu-pid PID] [--broker-pid PID] \
 *     [--event atm|wide]
 *
 * Prints one JSON line (LoadResult) on stdout at the end.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { IClientPublishOptions, IPublishPacket } from 'mqtt';
import { eventShape } from './event-shape.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';
import { round } from './numbers.js';
import { OpenLoop } from './open-loop.js';
import { cpuSeconds, percentile } from './proc-stats.js';

export interface LoadResult {
  target: string;
  /** Event shape (`atm`, `wide`); absent in result files from before the option (= atm). */
  event?: string;
  /** Mean payload size of the measured events, bytes. */
  eventBytes?: number;
  rate: number;
  durationSec: number;
  warmupSec: number;
  drainSec: number;
  budgetMs: number;
  /** Events in the measured window (warm-up events excluded from every count below). */
  sent: number;
  answered: number;
  inBudget: number;
  inBudgetPct: number | null;
  /** Decisions whose `source` is not `model` (the bare loop sends no `source`: counted as model). */
  fallbacks: number;
  /** Decisions by `source/reason`, e.g. `model/ok`, `fallback/deadline`. */
  reasons: Record<string, number>;
  decisions: Record<string, number>;
  /** Ids answered more than once (each extra answer counts). */
  duplicates: number;
  unanswered: number;
  /** Replies whose id this run did not send in its measured window (warm-up answers are not strays). */
  strays: number;
  publishErrors: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
  achievedRate: number;
  /** How late the generator itself was against its schedule; large values make the step invalid. */
  sendLagP99Ms: number | null;
  sendLagMaxMs: number | null;
  /** CPU seconds used by the system under test / the broker / this generator during the measured window. */
  sutCpuSec: number | null;
  brokerCpuSec: number | null;
  generatorCpuSec: number;
  windowSec: number;
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    target: { type: 'string' },
    'topic-prefix': { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    drain: { type: 'string', default: '3' },
    budget: { type: 'string', default: '300' },
    expiry: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    terminals: { type: 'string', default: '200' },
    event: { type: 'string', default: 'atm' },
    'cpu-pid': { type: 'string' },
    'broker-pid': { type: 'string' },
    samples: { type: 'string' },
  },
});

function num(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isFinite(n) || n < min) {
    console.error(`load-generator: --${name} must be a number >= ${min}, got ${raw}`);
    process.exit(2);
  }
  return n;
}

if (!values.url || !values.target || !values['topic-prefix']) {
  console.error(
    'usage: load-generator --url URL --target NAME --topic-prefix atm|bare --rate N --duration S',
  );
  process.exit(2);
}
const url = values.url;
const target = values.target;
const prefix = values['topic-prefix'];
const rate = num('rate', values.rate, 0.001);
const durationSec = num('duration', values.duration, 0.001);
const warmupSec = num('warmup', values.warmup, 0);
const drainSec = num('drain', values.drain, 0);
const budgetMs = num('budget', values.budget, 1);
const expirySec = Math.round(num('expiry', values.expiry, 1));
const seed = Math.round(num('seed', values.seed, 0));
const terminals = Math.round(num('terminals', values.terminals, 1));
const sutPid = values['cpu-pid'] ? num('cpu-pid', values['cpu-pid'], 1) : null;
const brokerPid = values['broker-pid'] ? num('broker-pid', values['broker-pid'], 1) : null;

const warmupCount = Math.round(rate * warmupSec);
const total = warmupCount + Math.round(rate * durationSec);
const replyTopic = `bench/reply/${target}`;
const runTag = `${target}-${rate}-${process.pid}-${Date.now().toString(36)}`;

// Payloads are built before the clock starts so generating them costs nothing inside the send window.
const shape = eventShape(values.event);
const nextEvent = shape.generator(seed, terminals);
const ids: string[] = new Array<string>(total);
const topics: string[] = new Array<string>(total);
const payloads: Buffer[] = new Array<Buffer>(total);
const options: IClientPublishOptions[] = new Array<IClientPublishOptions>(total);
const indexById = new Map<string, number>();
for (let i = 0; i < total; i++) {
  const event = nextEvent(`${runTag}-${i}`);
  ids[i] = event.id;
  topics[i] = `${prefix}/${event.source}/tx`;
  payloads[i] = Buffer.from(JSON.stringify(event.body));
  options[i] = {
    qos: 1,
    properties: {
      responseTopic: replyTopic,
      correlationData: Buffer.from(event.id),
      messageExpiryInterval: expirySec,
    },
  };
  indexById.set(event.id, i);
}
const sentAt = new Float64Array(total).fill(NaN);
const latency = new Float64Array(total).fill(NaN);
const answerCount = new Uint16Array(total);
const outcome: string[] = new Array<string>(total);
const decisionOf: string[] = new Array<string>(total);
let strays = 0;
let publishErrors = 0;

const client = connectNoDelay(url, {
  protocolVersion: 5,
  clientId: `bench-lg-${runTag}`,
  clean: true,
  keepalive: 30,
  reconnectPeriod: 1000,
});
client.on('error', (err) => console.error(`load-generator: mqtt: ${err.message}`));
// Started by the orchestrator with an IPC channel: the channel closes when the orchestrator dies.
process.on('disconnect', () => process.exit(1));

client.on('message', (_topic: string, payload: Buffer, packet: IPublishPacket) => {
  const now = performance.now();
  let id: string | undefined;
  let source = 'model';
  let reason = 'ok';
  let decision = '?';
  try {
    const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (typeof body.id === 'string') id = body.id;
    if (typeof body.source === 'string') source = body.source;
    if (typeof body.reason === 'string') reason = body.reason;
    if (typeof body.decision === 'string') decision = body.decision;
  } catch {
    // A reply that is not JSON is still matched through its correlation data.
  }
  id ??= packet.properties?.correlationData?.toString('utf8');
  const i = id === undefined ? undefined : indexById.get(id);
  if (i === undefined || Number.isNaN(sentAt[i])) {
    strays++;
    return;
  }
  if (answerCount[i]++ > 0) return;
  latency[i] = now - sentAt[i];
  outcome[i] = `${source}/${reason}`;
  decisionOf[i] = decision;
});

await whenConnected(client);
await client.subscribeAsync(replyTopic, { qos: 1 });

const onPublished = (err?: Error): void => {
  if (err) publishErrors++;
};

let measureStartCpu: { sut: number | null; broker: number | null; self: NodeJS.CpuUsage } | undefined;
let measureStartAt = 0;

function markMeasureStart(): void {
  measureStartAt = performance.now();
  measureStartCpu = {
    sut: sutPid ? cpuSeconds(sutPid) : null,
    broker: brokerPid ? cpuSeconds(brokerPid) : null,
    self: process.cpuUsage(),
  };
}

const loop = new OpenLoop({
  rate,
  total,
  send(i, now) {
    if (i === warmupCount) markMeasureStart();
    sentAt[i] = now;
    client.publish(topics[i], payloads[i], options[i], onPublished);
  },
});
await loop.done;
const lastSendAt = performance.now();
await new Promise((resolve) => setTimeout(resolve, drainSec * 1000));

const windowEnd = performance.now();
const sutEnd = sutPid ? cpuSeconds(sutPid) : null;
const brokerEnd = brokerPid ? cpuSeconds(brokerPid) : null;
const selfCpu = process.cpuUsage(measureStartCpu?.self);

const measured = total - warmupCount;
const lat: number[] = [];
const lags: number[] = [];
const reasons: Record<string, number> = {};
const decisions: Record<string, number> = {};
let answered = 0;
let inBudget = 0;
let fallbacks = 0;
let duplicates = 0;
let sum = 0;
for (let i = warmupCount; i < total; i++) {
  lags.push(sentAt[i] - loop.dueAt(i));
  if (answerCount[i] > 1) duplicates += answerCount[i] - 1;
  if (answerCount[i] === 0) continue;
  answered++;
  lat.push(latency[i]);
  sum += latency[i];
  if (latency[i] <= budgetMs) inBudget++;
  if (!outcome[i].startsWith('model/')) fallbacks++;
  reasons[outcome[i]] = (reasons[outcome[i]] ?? 0) + 1;
  decisions[decisionOf[i]] = (decisions[decisionOf[i]] ?? 0) + 1;
}
lat.sort((a, b) => a - b);
lags.sort((a, b) => a - b);
const firstMeasured = sentAt[warmupCount];
const sendSpanSec = (lastSendAt - firstMeasured) / 1000;
const diff = (end: number | null, begin: number | null | undefined): number | null =>
  end === null || begin === null || begin === undefined ? null : round(end - begin, 3);

let payloadBytes = 0;
for (let i = warmupCount; i < total; i++) payloadBytes += payloads[i].length;

const result: LoadResult = {
  target,
  event: shape.name,
  eventBytes: measured > 0 ? Math.round(payloadBytes / measured) : 0,
  rate,
  durationSec,
  warmupSec,
  drainSec,
  budgetMs,
  sent: measured,
  answered,
  inBudget,
  inBudgetPct: measured > 0 ? round((100 * inBudget) / measured) : null,
  fallbacks,
  reasons,
  decisions,
  duplicates,
  unanswered: measured - answered,
  strays,
  publishErrors,
  p50Ms: round(percentile(lat, 50)),
  p90Ms: round(percentile(lat, 90)),
  p99Ms: round(percentile(lat, 99)),
  maxMs: round(lat.length ? lat[lat.length - 1] : null),
  meanMs: round(lat.length ? sum / lat.length : null),
  achievedRate: round(sendSpanSec > 0 ? (measured - 1) / sendSpanSec : measured, 1) ?? 0,
  sendLagP99Ms: round(percentile(lags, 99)),
  sendLagMaxMs: round(lags.length ? lags[lags.length - 1] : null),
  sutCpuSec: diff(sutEnd, measureStartCpu?.sut),
  brokerCpuSec: diff(brokerEnd, measureStartCpu?.broker),
  generatorCpuSec: round((selfCpu.user + selfCpu.system) / 1e6, 3) ?? 0,
  windowSec: round((windowEnd - measureStartAt) / 1000, 3) ?? 0,
};

if (values.samples !== undefined) writeSamples(values.samples);
process.stdout.write(`${JSON.stringify(result)}\n`);
await client.endAsync(true);
process.exit(0);

/**
 * One line per measured event: when it was sent (ms since the Unix epoch, so it lines up with other logs
 * of the box) and its latency in ms (empty when unanswered). For finding what the slow events share.
 */
function writeSamples(file: string): void {
  const lines = ['sent_epoch_ms,latency_ms'];
  for (let i = warmupCount; i < total; i++) {
    const ms = latency[i]!;
    lines.push(
      `${(performance.timeOrigin + sentAt[i]!).toFixed(3)},${Number.isNaN(ms) ? '' : ms.toFixed(3)}`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
