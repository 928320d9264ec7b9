/**
 * `npm run soak -- --minutes N --rate R`: the gateway under a steady open-loop load for a long time, to see
 * whether it keeps answering every event and whether its memory settles or keeps growing.
 *
 * Starts a private Mosquitto (set_tcp_nodelay true) and the gateway as a child process (atm-risk pipeline,
 * MQTT 5), publishes ATM events at R/s with a Response Topic and Correlation Data, and prints one line per
 * minute: sent, answered, unanswered so far, p50/p99 latency of the replies that arrived in that minute, and
 * the daemon's VmRSS with its growth against the first minute. Ends with a summary (RSS curve, growth, lost).
 *
 *   node dist/bench/soak.js [--minutes 10] [--rate 500] [--budget 300] [--expiry 0] [--overdue 5]
 *     [--drain 15] [--seed 1] [--model FILE] [--mosquitto /usr/sbin/mosquitto] [--json FILE] [--keep-logs]
 *
 * Ctrl-C stops the load early; the drain and the summary still run. A second Ctrl-C exits at once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UniqueMessageIdProvider, type IClientPublishOptions, type IPublishPacket } from 'mqtt';
import { makeAtmEventGenerator } from './atm-event.js';
import { killAllChildrenNow, stopAllChildren } from './children.js';
import { DEFAULT_MOSQUITTO_BINARY, startMosquitto, type RunningMosquitto } from './mosquitto-process.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';
import { cpuSeconds, memoryStats, percentile } from './proc-stats.js';
import { startGateway, type SystemUnderTest } from './systems-under-test.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const REPLY_TOPIC = 'bench/reply/soak';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' },
    budget: { type: 'string', default: '300' },
    expiry: { type: 'string', default: '0' },
    overdue: { type: 'string', default: '5' },
    drain: { type: 'string', default: '15' },
    'drain-max': { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    model: { type: 'string', default: join(repoRoot, 'models', 'atm-risk.onnx') },
    mosquitto: { type: 'string', default: DEFAULT_MOSQUITTO_BINARY },
    json: { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: node dist/bench/soak.js [--minutes 10] [--rate 500] [--budget 300] [--expiry 0] [--overdue 5]\n' +
      '  [--drain 15] [--seed 1] [--model FILE] [--mosquitto /usr/sbin/mosquitto] [--json FILE] [--keep-logs]\n' +
      '  --expiry: MQTT 5 Message Expiry Interval per event, seconds (0: none)\n' +
      '  --overdue: an event still unanswered this many seconds after it was sent counts as unanswered\n' +
      '  --drain: after the last send, wait until every event is answered or none was for this many seconds\n' +
      '  --drain-max: but never longer than this many seconds (default 600)',
  );
  process.exit(0);
}

function fail(message: string): never {
  console.error(`soak: ${message}`);
  process.exit(2);
}

function positive(name: string, raw: string, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) fail(`--${name} must be a positive number`);
  return n;
}

const minutes = positive('minutes', values.minutes);
const rate = positive('rate', values.rate);
const budgetMs = positive('budget', values.budget);
const expirySec = Math.round(positive('expiry', values.expiry, true));
const overdueSec = positive('overdue', values.overdue);
const drainSec = positive('drain', values.drain, true);
const drainMaxSec = positive('drain-max', values['drain-max'], true);
const seed = Math.round(positive('seed', values.seed, true));
const modelPath = resolve(values.model);
if (!existsSync(modelPath)) fail(`model ${modelPath} not found (npm run models builds the sample models)`);

interface MinuteRow {
  minute: number;
  /** Events sent in this minute / since the start. */
  sent: number;
  sentTotal: number;
  /** Distinct ids answered since the start. */
  answeredTotal: number;
  /** Sent more than --overdue seconds ago and still without a decision. */
  unanswered: number;
  /** Over the replies that arrived in this minute (first reply per id). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Decisions in this minute whose source is not `model` (deadline, overload, expired...). */
  fallbacks: number;
  rssMiB: number | null;
  /** Against the RSS at the end of minute 1. */
  rssGrowthPct: number | null;
  brokerRssMiB: number | null;
  /** The daemon's CPU over the minute, percent of one core. */
  cpuPct: number | null;
}

interface SoakReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; mosquitto: string };
  options: Record<string, unknown>;
  rssAtReadyMiB: number | null;
  minutes: MinuteRow[];
  summary: {
    sent: number;
    answered: number;
    lost: number;
    /** Extra answers for an id already answered. */
    repeats: number;
    /** Ids whose repeated answers differ (decision/source/reason/score). */
    conflicting: number;
    publishErrors: number;
    strays: number;
    reasons: Record<string, number>;
    rssCurveMiB: (number | null)[];
    rssGrowthPct: number | null;
    rssMaxGrowthPct: number | null;
    peakRssMiB: number | null;
    p50Ms: number | null;
    p99Ms: number | null;
    gatewayExited: string | null;
    /** Seconds from the last send until everything was answered (or the drain gave up). */
    drainedSec: number | null;
    rssAfterDrainMiB: number | null;
  };
}

function mosquittoVersion(binary: string): string {
  try {
    const out = execFileSync(binary, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    // mosquitto -h exits 3 after printing its usage.
    const out = String((err as { stdout?: unknown }).stdout ?? '');
    return /version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number | null | undefined, digits = 2): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;
const fmt = (x: number | null, digits = 1): string => (x === null ? '-' : x.toFixed(digits));

const workDir = mkdtempSync(join(tmpdir(), 'infergate-soak-'));
let broker: RunningMosquitto | undefined;
let cleaning: Promise<void> | undefined;
let stopRequested = false;
/** Set once the run is over, so the gateway's exit at cleanup is not reported as a failure. */
let finished = false;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildren();
    await broker?.stop();
  })();
  return cleaning;
}

process.on('exit', killAllChildrenNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopRequested) {
      console.error(`\nsoak: second ${signal}, exiting (logs kept in ${workDir})`);
      void cleanup().finally(() => process.exit(130));
      return;
    }
    stopRequested = true;
    console.error(`\nsoak: ${signal}: stopping the load; draining, then the summary`);
  });
}

async function main(): Promise<number> {
  const total = Math.round(minutes * 60 * rate);
  const report: SoakReport = {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      mosquitto: mosquittoVersion(values.mosquitto),
    },
    options: { minutes, rate, budgetMs, expirySec, overdueSec, drainSec, drainMaxSec, seed, modelPath },
    rssAtReadyMiB: null,
    minutes: [],
    summary: {
      sent: 0,
      answered: 0,
      lost: 0,
      repeats: 0,
      conflicting: 0,
      publishErrors: 0,
      strays: 0,
      reasons: {},
      rssCurveMiB: [],
      rssGrowthPct: null,
      rssMaxGrowthPct: null,
      peakRssMiB: null,
      p50Ms: null,
      p99Ms: null,
      gatewayExited: null,
      drainedSec: null,
      rssAfterDrainMiB: null,
    },
  };
  console.log(
    `infergate soak: ${report.machine.cpus} CPU (${report.machine.cpuModel}), Node ${report.machine.node}, ` +
      `Mosquitto ${report.machine.mosquitto}; ${minutes} min at ${rate} events/s (${total} events), ` +
      `budget ${budgetMs} ms, expiry ${expirySec > 0 ? `${expirySec} s` : 'none'}`,
  );

  // The gateway inherits our environment: a free metrics port, so a long run never holds the default one
  // (9464) that another gateway on this box may need, nor fails because one holds it.
  process.env.INFERGATE_METRICS_PORT ??= '0';
  broker = await startMosquitto({ dir: workDir, binary: values.mosquitto });
  report.options.brokerConfig = readFileSync(broker.configPath, 'utf8').split('\n').filter(Boolean);
  const gateway: SystemUnderTest = await startGateway({
    repoRoot,
    brokerUrl: broker.url,
    modelPath,
    stateDir: join(workDir, 'state'),
    budgetMs,
    workDir,
    timeoutMs: 30_000,
  });
  const gatewayPid = gateway.child.pid;
  report.rssAtReadyMiB = round(memoryStats(gatewayPid)?.rssMiB, 1);
  console.log(
    `broker ${broker.url} (pid ${broker.pid}); gateway pid ${gatewayPid} ready in ` +
      `${gateway.startupMs.toFixed(0)} ms, RSS ${fmt(report.rssAtReadyMiB)} MiB; logs in ${workDir}`,
  );
  let gatewayExit: string | null = null;
  void gateway.child.exited.then((exit) => {
    if (finished) return;
    gatewayExit = `gateway exited (${exit.code ?? exit.signal})`;
    if (!stopRequested) console.error(`soak: ${gatewayExit}\n${gateway.child.logTail()}`);
    stopRequested = true;
  });

  const runTag = `soak-${process.pid}-${Date.now().toString(36)}`;
  const nextEvent = makeAtmEventGenerator(seed, 200);
  const sentAt = new Float64Array(total).fill(NaN);
  const answers = new Uint8Array(total);
  // A hash of (decision, source, reason, score) per id, so a repeated answer is compared without keeping it.
  const answerKey = new Uint32Array(total);
  const reasons: Record<string, number> = {};
  const allLatencies: number[] = [];
  let minuteLatencies: number[] = [];
  let minuteFallbacks = 0;
  let answeredTotal = 0;
  let repeats = 0;
  let conflicting = 0;
  let strays = 0;
  let publishErrors = 0;

  const client = connectNoDelay(broker.url, {
    protocolVersion: 5,
    clientId: `infergate-soak-${runTag}`,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1000,
    // The default id provider loses publishes past 65,535 queued (FACTS); a long run may queue that many.
    messageIdProvider: new UniqueMessageIdProvider(),
  });
  client.on('error', (err) => console.error(`soak: mqtt: ${err.message}`));
  client.on('message', (_topic: string, payload: Buffer, packet: IPublishPacket) => {
    const now = performance.now();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      // Matched through the correlation data below.
    }
    const id = typeof body.id === 'string' ? body.id : packet.properties?.correlationData?.toString('utf8');
    const i = id?.startsWith(`${runTag}-`) ? Number(id.slice(runTag.length + 1)) : NaN;
    if (!Number.isInteger(i) || i < 0 || i >= total || Number.isNaN(sentAt[i])) {
      strays++;
      return;
    }
    const code = fnv1a(JSON.stringify([body.decision, body.source, body.reason, body.score]));
    if (answers[i] > 0) {
      repeats++;
      if (answerKey[i] !== code) conflicting++;
      if (answers[i] < 255) answers[i]++;
      return;
    }
    answers[i] = 1;
    answerKey[i] = code;
    answeredTotal++;
    const latency = now - sentAt[i];
    minuteLatencies.push(latency);
    allLatencies.push(latency);
    const outcome = `${String(body.source)}/${String(body.reason)}`;
    reasons[outcome] = (reasons[outcome] ?? 0) + 1;
    if (body.source !== 'model') minuteFallbacks++;
  });
  await whenConnected(client);
  await client.subscribeAsync(REPLY_TOPIC, { qos: 1 });

  const baseOptions: IClientPublishOptions['properties'] = {
    responseTopic: REPLY_TOPIC,
    ...(expirySec > 0 ? { messageExpiryInterval: expirySec } : {}),
  };
  const onPublished = (err?: Error): void => {
    if (err) publishErrors++;
  };
  const intervalMs = 1000 / rate;
  const start = performance.now() + 20;
  let next = 0;

  /**
   * Open loop: event i is due at start + i/rate whatever the gateway does; a late timer sends the backlog at
   * once, in slices of at most 1 ms so replies arriving meanwhile are timestamped promptly.
   */
  const sending = new Promise<void>((resolveSending) => {
    const sendDue = (): void => {
      const sliceStart = performance.now();
      let now = sliceStart;
      while (next < total && !stopRequested && start + next * intervalMs <= now) {
        const id = `${runTag}-${next}`;
        const event = nextEvent(id);
        sentAt[next] = now;
        client.publish(
          `atm/${event.terminal}/tx`,
          JSON.stringify(event),
          { qos: 1, properties: { ...baseOptions, correlationData: Buffer.from(id) } },
          onPublished,
        );
        next++;
        now = performance.now();
        if (now - sliceStart >= 1) {
          setImmediate(sendDue);
          return;
        }
      }
      if (next >= total || stopRequested) {
        resolveSending();
        return;
      }
      setTimeout(sendDue, Math.max(0, start + next * intervalMs - now));
    };
    setTimeout(sendDue, Math.max(0, start - performance.now()));
  });

  const unansweredOlderThan = (ageMs: number): number => {
    const now = performance.now();
    let n = 0;
    for (let i = 0; i < next; i++) {
      if (sentAt[i] > now - ageMs) break;
      if (answers[i] === 0) n++;
    }
    return n;
  };

  let lastSent = 0;
  let lastCpu = cpuSeconds(gatewayPid);
  let lastTickAt = performance.now();
  const tick = (minute: number): void => {
    const now = performance.now();
    const cpu = cpuSeconds(gatewayPid);
    const sorted = minuteLatencies.sort((a, b) => a - b);
    const rss = memoryStats(gatewayPid)?.rssMiB ?? null;
    const firstRss = report.minutes[0]?.rssMiB ?? rss;
    const row: MinuteRow = {
      minute,
      sent: next - lastSent,
      sentTotal: next,
      answeredTotal,
      unanswered: unansweredOlderThan(overdueSec * 1000),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(sorted.length > 0 ? sorted[sorted.length - 1] : null),
      fallbacks: minuteFallbacks,
      rssMiB: round(rss, 1),
      rssGrowthPct: rss === null || firstRss === null ? null : round((100 * (rss - firstRss)) / firstRss, 1),
      brokerRssMiB: round(memoryStats(broker!.pid)?.rssMiB, 1),
      cpuPct:
        cpu === null || lastCpu === null
          ? null
          : round((100 * (cpu - lastCpu)) / ((now - lastTickAt) / 1000), 0),
    };
    report.minutes.push(row);
    lastSent = next;
    lastCpu = cpu;
    lastTickAt = now;
    minuteLatencies = [];
    minuteFallbacks = 0;
    console.log(
      `minute ${String(minute).padStart(3)}  sent ${String(row.sent).padStart(6)} (total ${row.sentTotal})  ` +
        `answered ${row.answeredTotal}  unanswered ${row.unanswered}  ` +
        `p50 ${fmt(row.p50Ms, 2)} ms  p99 ${fmt(row.p99Ms, 2)} ms  fallbacks ${row.fallbacks}  ` +
        `RSS ${fmt(row.rssMiB)} MiB (${row.rssGrowthPct !== null && row.rssGrowthPct >= 0 ? '+' : ''}${fmt(row.rssGrowthPct)} % vs minute 1)  ` +
        `CPU ${fmt(row.cpuPct, 0)} %  broker RSS ${fmt(row.brokerRssMiB)} MiB`,
    );
  };

  let minute = 0;
  let ticker: NodeJS.Timeout | undefined;
  const scheduleTick = (): void => {
    ticker = setTimeout(
      () => {
        minute++;
        tick(minute);
        if (minute < Math.ceil(minutes) && !stopRequested) scheduleTick();
      },
      Math.max(0, start + (minute + 1) * 60_000 - performance.now()),
    );
  };
  scheduleTick();

  await sending;
  const sent = next;
  // A backlog left by a slow stretch is still being answered: "lost" is what never comes, not what is late.
  const drainStart = performance.now();
  let lastProgressAt = drainStart;
  let lastAnswered = answeredTotal;
  while (
    answeredTotal < sent &&
    gatewayExit === null &&
    performance.now() - lastProgressAt < drainSec * 1000 &&
    performance.now() - drainStart < drainMaxSec * 1000
  ) {
    await sleep(100);
    if (answeredTotal !== lastAnswered) {
      lastAnswered = answeredTotal;
      lastProgressAt = performance.now();
    }
  }
  const drainedSec = round((performance.now() - drainStart) / 1000, 1);
  const rssAfterDrain = round(memoryStats(gatewayPid)?.rssMiB, 1);
  clearTimeout(ticker);
  // A run stopped early, or one whose last minute is partial, still gets its last row; a run that got all its
  // rows only misses the last few sends of its final minute, which the summary counts.
  if (report.minutes.length < Math.ceil(minutes)) tick(minute + 1);

  const rssCurve = report.minutes.map((m) => m.rssMiB);
  const first = rssCurve[0] ?? null;
  const last = rssCurve[rssCurve.length - 1] ?? null;
  const valid = rssCurve.filter((x): x is number => x !== null);
  allLatencies.sort((a, b) => a - b);
  report.summary = {
    sent,
    answered: answeredTotal,
    lost: sent - answeredTotal,
    repeats,
    conflicting,
    publishErrors,
    strays,
    reasons,
    rssCurveMiB: rssCurve,
    rssGrowthPct: first !== null && last !== null ? round((100 * (last - first)) / first, 1) : null,
    rssMaxGrowthPct:
      first !== null && valid.length > 0 ? round((100 * (Math.max(...valid) - first)) / first, 1) : null,
    peakRssMiB: round(memoryStats(gatewayPid)?.hwmMiB, 1),
    p50Ms: round(percentile(allLatencies, 50)),
    p99Ms: round(percentile(allLatencies, 99)),
    gatewayExited: gatewayExit,
    drainedSec,
    rssAfterDrainMiB: rssAfterDrain,
  };
  const s = report.summary;
  console.log('');
  console.log(
    `sent ${s.sent}, answered ${s.answered}, lost ${s.lost}, repeats ${s.repeats} (conflicting ${s.conflicting}), ` +
      `publish errors ${s.publishErrors}, strays ${s.strays}`,
  );
  console.log(
    `outcomes: ${Object.entries(s.reasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; latency p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms over the run`,
  );
  console.log(`RSS per minute (MiB): [${rssCurve.map((x) => fmt(x)).join(', ')}]`);
  console.log(
    `RSS at ready ${fmt(report.rssAtReadyMiB)} MiB; growth minute 1 → last ${fmt(s.rssGrowthPct)} %, ` +
      `largest above minute 1 ${fmt(s.rssMaxGrowthPct)} %; peak (VmHWM) ${fmt(s.peakRssMiB)} MiB; ` +
      `${fmt(s.rssAfterDrainMiB)} MiB after the drain (${fmt(s.drainedSec)} s)`,
  );
  if (gatewayExit !== null) console.log(`error: ${gatewayExit}`);

  if (values.json) {
    writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resolve(values.json)}`);
  }
  finished = true;
  await client.endAsync(true);
  return gatewayExit !== null || s.lost > 0 || s.conflicting > 0 ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`soak: ${(err as Error).message}`);
  if (broker) console.error(`broker log:\n${broker.logTail()}`);
} finally {
  await cleanup();
}
if (exitCode === 0 && !values['keep-logs']) rmSync(workDir, { recursive: true, force: true });
else console.error(`soak: logs and generated configs kept in ${workDir}`);
process.exit(exitCode);
