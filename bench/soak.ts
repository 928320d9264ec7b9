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
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { UniqueMessageIdProvider, type IClientPublishOptions } from 'mqtt';
import { eventShape } from './event-shape.js';
import { BenchRun } from './bench-run.js';
import { BROKER_RUN_OPTIONS, cliFlags } from './cli-flags.js';
import { machineInfo } from './machine-info.js';
import { MinuteSampler } from './minute-sampler.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';
import { fmt, round } from './numbers.js';
import { OpenLoop } from './open-loop.js';
import { memoryStats } from './proc-stats.js';
import { repoRoot } from './repo-root.js';
import { emptySoakSummary, minuteLine, soakSummary, summaryLines, type SoakReport } from './soak-report.js';
import { SoakReplies } from './soak-replies.js';
import { startGateway, type SystemUnderTest } from './systems-under-test.js';
import { UNIT_FILE, unitEnvironment } from './unit-environment.js';
import { writeWideModel } from './wide-model.js';

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
    event: { type: 'string', default: 'atm' },
    'plain-node': { type: 'boolean', default: false },
    ...BROKER_RUN_OPTIONS,
  },
});

if (values.help) {
  console.log(
    'usage: node dist/bench/soak.js [--minutes 10] [--rate 500] [--budget 300] [--expiry 0] [--overdue 5]\n' +
      '  [--drain 15] [--seed 1] [--model FILE] [--mosquitto /usr/sbin/mosquitto] [--json FILE] [--keep-logs]\n' +
      '  [--plain-node] [--event atm|wide]\n' +
      '  --event: the ATM transaction (~250 B) or the ~1 KB 32-reading inspection record (bench/README.md)\n' +
      '  --expiry: MQTT 5 Message Expiry Interval per event, seconds (0: none)\n' +
      '  --overdue: an event still unanswered this many seconds after it was sent counts as unanswered\n' +
      '  --drain: after the last send, wait until every event is answered or none was for this many seconds\n' +
      '  --drain-max: but never longer than this many seconds (default 600)\n' +
      `  --plain-node: run the gateway without the Environment= of ${UNIT_FILE} (V8 heap flags, MALLOC_ARENA_MAX)`,
  );
  process.exit(0);
}

const { positive, model } = cliFlags('soak');
const minutes = positive('minutes', values.minutes);
const rate = positive('rate', values.rate);
const budgetMs = positive('budget', values.budget);
const expirySec = Math.round(positive('expiry', values.expiry, true));
const overdueSec = positive('overdue', values.overdue);
const drainSec = positive('drain', values.drain, true);
const drainMaxSec = positive('drain-max', values['drain-max'], true);
const seed = Math.round(positive('seed', values.seed, true));
// Memory is what a soak is about, and it depends on the heap and malloc settings the unit ships.
const unitEnv = values['plain-node'] ? undefined : unitEnvironment(repoRoot);
const shape = (() => {
  try {
    return eventShape(values.event);
  } catch (error) {
    console.error(`soak: --event: ${(error as Error).message}`);
    process.exit(2);
  }
})();

const run = new BenchRun('soak');
const { workDir } = run;
let stopRequested = false;
/** Set once the run is over, so the gateway's exit at cleanup is not reported as a failure. */
let finished = false;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopRequested) {
      console.error(`\nsoak: second ${signal}, exiting (logs kept in ${workDir})`);
      void run.cleanup().finally(() => process.exit(130));
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
    machine: machineInfo(values.mosquitto),
    options: {
      minutes,
      rate,
      budgetMs,
      expirySec,
      overdueSec,
      drainSec,
      drainMaxSec,
      seed,
      event: shape.name,
      modelPath: '',
      gatewayEnv: unitEnv ?? null,
    },
    rssAtReadyMiB: null,
    minutes: [],
    summary: emptySoakSummary(),
  };
  console.log(
    `infergate soak (${shape.name} events): ${report.machine.cpus} CPU (${report.machine.cpuModel}), Node ${report.machine.node}, ` +
      `Mosquitto ${report.machine.mosquitto}; ${minutes} min at ${rate} events/s (${total} events), ` +
      `budget ${budgetMs} ms, expiry ${expirySec > 0 ? `${expirySec} s` : 'none'}`,
  );
  console.log(
    unitEnv === undefined
      ? 'gateway environment: inherited (--plain-node)'
      : `gateway environment from ${UNIT_FILE}: ${Object.entries(unitEnv)
          .map(([key, value]) => `${key}=${value}`)
          .join(' ')}`,
  );

  // The gateway inherits our environment: a free metrics port, so a long run never holds the default one
  // (9464) that another gateway on this box may need, nor fails because one holds it.
  process.env.INFERGATE_METRICS_PORT ??= '0';
  // The wide model is generated (trained) into the run's own folder, as `npm run bench` does.
  const modelPath = shape.name === 'atm' ? model(values.model) : writeWideModel(workDir);
  report.options.modelPath = modelPath;
  const broker = await run.startBroker(values.mosquitto);
  report.options.brokerConfig = run.brokerConfig();
  const gateway: SystemUnderTest = await startGateway({
    repoRoot,
    brokerUrl: broker.url,
    modelPath,
    stateDir: join(workDir, 'state'),
    budgetMs,
    workDir,
    timeoutMs: 30_000,
    env: unitEnv,
    shape,
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
  const nextEvent = shape.generator(seed, 200);
  const replies = new SoakReplies(runTag, total);
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
  client.on('message', replies.onReply);
  await whenConnected(client);
  await client.subscribeAsync(REPLY_TOPIC, { qos: 1 });

  const baseOptions: IClientPublishOptions['properties'] = {
    responseTopic: REPLY_TOPIC,
    ...(expirySec > 0 ? { messageExpiryInterval: expirySec } : {}),
  };
  const onPublished = (err?: Error): void => {
    if (err) publishErrors++;
  };
  const loop = new OpenLoop({
    rate,
    total,
    shouldStop: () => stopRequested,
    send(i, now) {
      const id = replies.id(i);
      const event = nextEvent(id);
      replies.markSent(i, now);
      client.publish(
        `${shape.gatewayTopicPrefix}/${event.source}/tx`,
        JSON.stringify(event.body),
        { qos: 1, properties: { ...baseOptions, correlationData: Buffer.from(id) } },
        onPublished,
      );
    },
  });

  const sampler = new MinuteSampler({
    replies,
    sent: () => loop.sent,
    gatewayPid,
    brokerPid: broker.pid,
    overdueMs: overdueSec * 1000,
  });
  report.minutes = sampler.rows;
  const tick = (minute: number): void => console.log(minuteLine(sampler.sample(minute)));

  let minute = 0;
  let ticker: NodeJS.Timeout | undefined;
  const scheduleTick = (): void => {
    ticker = setTimeout(
      () => {
        minute++;
        tick(minute);
        if (minute < Math.ceil(minutes) && !stopRequested) scheduleTick();
      },
      Math.max(0, loop.start + (minute + 1) * 60_000 - performance.now()),
    );
  };
  scheduleTick();

  await loop.done;
  const sent = loop.sent;
  // A backlog left by a slow stretch is still being answered: "lost" is what never comes, not what is late.
  const drainStart = performance.now();
  let lastProgressAt = drainStart;
  let lastAnswered = replies.answered;
  while (
    replies.answered < sent &&
    gatewayExit === null &&
    performance.now() - lastProgressAt < drainSec * 1000 &&
    performance.now() - drainStart < drainMaxSec * 1000
  ) {
    await sleep(100);
    if (replies.answered !== lastAnswered) {
      lastAnswered = replies.answered;
      lastProgressAt = performance.now();
    }
  }
  const drainedSec = round((performance.now() - drainStart) / 1000, 1);
  const rssAfterDrainMiB = round(memoryStats(gatewayPid)?.rssMiB, 1);
  clearTimeout(ticker);
  // A run stopped early, or one whose last minute is partial, still gets its last row; a run that got all its
  // rows only misses the last few sends of its final minute, which the summary counts.
  if (report.minutes.length < Math.ceil(minutes)) tick(minute + 1);

  report.summary = soakSummary(report.minutes, replies, {
    sent,
    publishErrors,
    peakRssMiB: round(memoryStats(gatewayPid)?.hwmMiB, 1),
    gatewayExited: gatewayExit,
    drainedSec,
    rssAfterDrainMiB,
  });
  console.log('');
  for (const line of summaryLines(report)) console.log(line);

  if (values.json) {
    writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resolve(values.json)}`);
  }
  finished = true;
  await client.endAsync(true);
  const s = report.summary;
  return gatewayExit !== null || s.lost > 0 || s.conflicting > 0 ? 1 : 0;
}

await run.finish(main, values['keep-logs']);
