/**
 * `npm run bench -- --images`: camera frames through the gateway. ~1 MP JPEGs published open-loop at a fixed
 * rate to the bench's private Mosquitto (MQTT 5, a unique Correlation Data per frame, a Response Topic), one
 * `image` pipeline (the camera example's: decode, 64×64 greyscale, CNN, argmax decision). Reports latency
 * from publish to decision, CPU per image (gateway and broker, from /proc) and whether the gateway's RSS
 * stays flat over the run.
 *
 *   node dist/bench/bench.js --images [--images-count 10000] [--image-rate 20] [--budget 150] [--warmup 2]
 *     [--frames 20] [--frame-size 1280x800] [--quality 90] [--seed 1] [--drain 10] [--expiry 10]
 *     [--model FILE|tiny] [--mosquitto BIN] [--json FILE] [--keep-logs] [--plain-node]
 *
 * Without --model it uses models/visual-inspection.onnx, or a tiny CNN written to the temp dir when that
 * file is missing (`tiny` asks for it); the report says which.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { IClientPublishOptions, IPublishPacket } from 'mqtt';
import { writeTinyCnn } from '../tools/dev/tiny-image-cnn.js';
import { BenchRun } from './bench-run.js';
import { cliFlags } from './cli-flags.js';
import { makeFramePool } from './image-frames.js';
import { IMAGE_REPLY_TOPIC, IMAGE_TOPIC_PREFIX, imageGatewayConfigYaml } from './image-gateway-config.js';
import {
  imageResultLines,
  latencySummary,
  rssSummary,
  type ImageBenchResult,
  type RssSample,
} from './image-report.js';
import { machineInfo } from './machine-info.js';
import { DEFAULT_MOSQUITTO_BINARY } from './mosquitto-process.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';
import { fmt, round } from './numbers.js';
import { OpenLoop } from './open-loop.js';
import { cpuSeconds, memoryStats, percentile } from './proc-stats.js';
import { repoRoot } from './repo-root.js';
import { launchGateway } from './systems-under-test.js';
import { unitEnvironment } from './unit-environment.js';

const OPTIONS = {
  'images-count': { type: 'string', default: '10000' },
  'image-rate': { type: 'string', default: '20' },
  budget: { type: 'string', default: '150' },
  warmup: { type: 'string', default: '2' },
  frames: { type: 'string', default: '20' },
  'frame-size': { type: 'string', default: '1280x800' },
  quality: { type: 'string', default: '90' },
  seed: { type: 'string', default: '1' },
  drain: { type: 'string', default: '10' },
  expiry: { type: 'string', default: '10' },
  model: { type: 'string' },
  mosquitto: { type: 'string', default: DEFAULT_MOSQUITTO_BINARY },
  json: { type: 'string' },
  'keep-logs': { type: 'boolean', default: false },
  'plain-node': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const SHIPPED_MODEL = join(repoRoot, 'models', 'visual-inspection.onnx');
const RSS_EVERY_MS = 5000;
const PROGRESS_EVERY_SEC = 60;

export async function runImageBench(argv: string[]): Promise<never> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) {
    console.log(
      'usage: node dist/bench/bench.js --images [--images-count 10000] [--image-rate 20] [--budget 150]\n' +
        '  [--warmup 2] [--frames 20] [--frame-size 1280x800] [--quality 90] [--seed 1] [--drain 10]\n' +
        '  [--expiry 10] [--model FILE|tiny] [--mosquitto BIN] [--json FILE] [--keep-logs] [--plain-node]',
    );
    process.exit(0);
  }
  const { fail, positive } = cliFlags('bench --images');
  const count = Math.round(positive('images-count', values['images-count']));
  const rate = positive('image-rate', values['image-rate']);
  const budgetMs = positive('budget', values.budget);
  const warmupCount = Math.round(rate * positive('warmup', values.warmup, true));
  const size = /^(\d+)x(\d+)$/.exec(values['frame-size']) ?? fail('--frame-size must be WIDTHxHEIGHT');
  const pool = {
    count: Math.round(positive('frames', values.frames)),
    width: Number(size[1]),
    height: Number(size[2]),
    quality: Math.min(100, Math.round(positive('quality', values.quality))),
    seed: Math.round(positive('seed', values.seed, true)),
  };
  const drainSec = positive('drain', values.drain, true);
  const expirySec = Math.round(positive('expiry', values.expiry));
  if (values.model !== undefined && values.model !== 'tiny' && !existsSync(resolve(values.model)))
    fail(`model ${resolve(values.model)} not found`);

  const run = new BenchRun('bench-images');
  let stop = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop = true;
      console.error(`\nbench --images: ${signal}: stopping the load; draining, then the summary`);
    });
  }
  return run.finish(async () => {
    const machine = machineInfo(values.mosquitto);
    const startLoad = loadavg().map((x) => round(x, 2));
    const built = performance.now();
    const frames = await makeFramePool(pool);
    const frameBytes = frames.map((f) => f.jpeg.length);
    const meanKiB = frameBytes.reduce((s, n) => s + n, 0) / frames.length / 1024;
    console.log(
      `infergate bench --images: ${machine.cpus} CPU (${machine.cpuModel}), Node ${machine.node}, Mosquitto ` +
        `${machine.mosquitto}, load average ${startLoad.join(' ')}\n` +
        `${count} frames (+${warmupCount} warm-up) at ${rate}/s, budget ${budgetMs} ms; ${pool.count} distinct ` +
        `${pool.width}×${pool.height} JPEGs (quality ${pool.quality}, mean ${meanKiB.toFixed(0)} KiB, ` +
        `made in ${((performance.now() - built) / 1000).toFixed(1)} s)`,
    );

    let modelPath: string;
    let modelNote: string | null = null;
    if (values.model !== undefined && values.model !== 'tiny') modelPath = resolve(values.model);
    else if (values.model === undefined && existsSync(SHIPPED_MODEL)) modelPath = SHIPPED_MODEL;
    else {
      modelPath = join(run.workDir, 'tiny-cnn.onnx');
      await writeTinyCnn(modelPath);
      modelNote =
        values.model === 'tiny'
          ? 'tiny CNN (--model tiny)'
          : `${SHIPPED_MODEL} not found (npm run models builds it): a tiny CNN (one 3×3 Conv) instead`;
      console.log(`model: ${modelNote}`);
    }

    process.env.INFERGATE_METRICS_PORT ??= '0';
    const broker = await run.startBroker(values.mosquitto);
    const stateDir = join(run.workDir, 'state');
    mkdirSync(stateDir, { recursive: true });
    const gateway = await launchGateway(
      imageGatewayConfigYaml({ repoRoot, brokerUrl: broker.url, modelPath, stateDir, budgetMs }),
      {
        repoRoot,
        brokerUrl: broker.url,
        workDir: run.workDir,
        timeoutMs: 30_000,
        topicPrefix: IMAGE_TOPIC_PREFIX,
        // Memory is part of what is measured, and it depends on the heap and malloc settings the unit ships.
        env: values['plain-node'] ? undefined : unitEnvironment(repoRoot),
      },
    );
    const pid = gateway.child.pid;
    const atReadyMiB = round(memoryStats(pid)?.rssMiB, 1);
    console.log(
      `gateway ready in ${gateway.startupMs.toFixed(0)} ms (pid ${pid}, RSS ${fmt(atReadyMiB)} MiB), model ${modelPath}`,
    );

    const total = warmupCount + count;
    const runTag = `img-${process.pid}-${Date.now().toString(36)}`;
    const sentAt = new Float64Array(total).fill(NaN);
    const latencyMs = new Float64Array(total).fill(NaN);
    const answers = new Uint16Array(total);
    const outcome: (string | undefined)[] = new Array<string | undefined>(total);
    const decision: (string | undefined)[] = new Array<string | undefined>(total);
    let answeredTotal = 0;
    let answeredMeasured = 0;
    let strays = 0;
    let publishErrors = 0;
    const client = connectNoDelay(broker.url, {
      protocolVersion: 5,
      clientId: `bench-images-${runTag}`,
      clean: true,
      keepalive: 30,
    });
    client.on('error', (err) => console.error(`bench --images: mqtt: ${err.message}`));
    client.on('message', (_topic: string, payload: Buffer, packet: IPublishPacket) => {
      const now = performance.now();
      const id = packet.properties?.correlationData?.toString('utf8') ?? '';
      const i = id.startsWith(`${runTag}-`) ? Number(id.slice(runTag.length + 1)) : NaN;
      if (!Number.isInteger(i) || i < 0 || i >= total || Number.isNaN(sentAt[i]!)) {
        strays++;
        return;
      }
      if (answers[i]++ > 0) return;
      answeredTotal++;
      if (i >= warmupCount) answeredMeasured++;
      latencyMs[i] = now - sentAt[i]!;
      try {
        const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
        outcome[i] = `${String(body.source)}/${String(body.reason ?? 'ok')}`;
        decision[i] = String(body.decision);
      } catch {
        outcome[i] = 'unparsed/reply';
      }
    });
    await whenConnected(client);
    await client.subscribeAsync(IMAGE_REPLY_TOPIC, { qos: 1 });

    const publishOptions = (i: number): IClientPublishOptions => ({
      qos: 1,
      properties: {
        responseTopic: IMAGE_REPLY_TOPIC,
        correlationData: Buffer.from(`${runTag}-${i}`),
        messageExpiryInterval: expirySec,
      },
    });
    let measureStart = 0;
    let cpuAtStart = { gateway: 0, broker: 0, self: process.cpuUsage() };
    const rssSamples: RssSample[] = [];
    const sampleRss = (): void => {
      const rss = memoryStats(pid)?.rssMiB;
      if (measureStart > 0 && rss !== undefined)
        rssSamples.push({
          atSec: round((performance.now() - measureStart) / 1000, 1)!,
          rssMiB: round(rss, 1)!,
        });
    };
    const sampler = setInterval(sampleRss, RSS_EVERY_MS);
    let lastProgress = { at: 0, cpu: 0, index: warmupCount };
    const progress = setInterval(() => {
      if (measureStart === 0) return;
      const now = performance.now();
      const cpu = cpuSeconds(pid) ?? 0;
      const upTo = loop.sent;
      const recent: number[] = [];
      for (let i = lastProgress.index; i < upTo; i++) if (answers[i]! > 0) recent.push(latencyMs[i]!);
      recent.sort((a, b) => a - b);
      const since = lastProgress.at === 0 ? measureStart : lastProgress.at;
      const cpuPct =
        (100 * (cpu - (lastProgress.at === 0 ? cpuAtStart.gateway : lastProgress.cpu))) /
        ((now - since) / 1000);
      console.log(
        `  ${((now - measureStart) / 1000).toFixed(0).padStart(4)} s: sent ${upTo - warmupCount}, answered ` +
          `${answeredMeasured}, p50 ${fmt(percentile(recent, 50))} ms, p99 ${fmt(percentile(recent, 99))} ms, ` +
          `gateway CPU ${cpuPct.toFixed(0)} %, RSS ${fmt(memoryStats(pid)?.rssMiB)} MiB`,
      );
      lastProgress = { at: now, cpu, index: upTo };
    }, PROGRESS_EVERY_SEC * 1000);

    const loop = new OpenLoop({
      rate,
      total,
      shouldStop: () => stop || !gateway.child.isRunning(),
      send(i, now) {
        if (i === warmupCount) {
          measureStart = now;
          cpuAtStart = {
            gateway: cpuSeconds(pid) ?? 0,
            broker: cpuSeconds(broker.pid) ?? 0,
            self: process.cpuUsage(),
          };
          sampleRss();
        }
        sentAt[i] = now;
        const frame = frames[i % frames.length]!;
        client.publish(`${IMAGE_TOPIC_PREFIX}/st${i % 4}/frame`, frame.jpeg, publishOptions(i), (err) => {
          if (err) publishErrors++;
        });
      },
    });
    await loop.done;
    const lastSendAt = performance.now();
    const sent = loop.sent;
    // Until every frame is answered, or none was for `drainSec`.
    let quietSince = performance.now();
    let seen = answeredTotal;
    while (answeredTotal < sent && performance.now() - quietSince < drainSec * 1000) {
      await sleep(100);
      if (answeredTotal !== seen) {
        seen = answeredTotal;
        quietSince = performance.now();
      }
    }
    const end = performance.now();
    sampleRss();
    clearInterval(sampler);
    clearInterval(progress);
    const gatewayCpu = cpuSeconds(pid);
    const brokerCpu = cpuSeconds(broker.pid);
    const selfCpu = process.cpuUsage(cpuAtStart.self);
    const memEnd = memoryStats(pid);
    await client.endAsync(true);

    const measured = Math.max(0, sent - warmupCount);
    const lags: number[] = [];
    for (let i = warmupCount; i < sent; i++) lags.push(sentAt[i]! - loop.dueAt(i));
    lags.sort((a, b) => a - b);
    const runSec = (lastSendAt - measureStart) / 1000;
    const perImage = (cpu: number | null, before: number): number | null =>
      cpu === null || measured === 0 ? null : round(((cpu - before) * 1000) / measured, 2);
    const result: ImageBenchResult = {
      ...latencySummary({
        budgetMs,
        latencyMs: latencyMs.subarray(warmupCount, sent),
        answers: answers.subarray(warmupCount, sent),
        outcome: outcome.slice(warmupCount, sent),
        decision: decision.slice(warmupCount, sent),
      }),
      achievedRate: runSec > 0 ? round((measured - 1) / runSec, 1) : null,
      sendLagP99Ms: round(percentile(lags, 99)),
      gatewayCpuMsPerImage: perImage(gatewayCpu, cpuAtStart.gateway),
      brokerCpuMsPerImage: perImage(brokerCpu, cpuAtStart.broker),
      generatorCpuSec: round((selfCpu.user + selfCpu.system) / 1e6, 2) ?? 0,
      windowSec: round((end - measureStart) / 1000, 1) ?? 0,
      rss: {
        atReadyMiB,
        endMiB: round(memEnd?.rssMiB, 1),
        hwmEndMiB: round(memEnd?.hwmMiB, 1),
        ...rssSummary(rssSamples, runSec),
      },
    };
    const endLoad = loadavg().map((x) => round(x, 2));
    console.log('');
    for (const line of imageResultLines(result, budgetMs)) console.log(line);
    console.log(`load average at the start ${startLoad.join(' ')}, at the end ${endLoad.join(' ')}`);
    const errors: string[] = [];
    if (!gateway.child.isRunning())
      errors.push(`the gateway exited during the run\n${gateway.child.logTail()}`);
    if (strays > 0) console.log(`note: ${strays} replies to ids this run did not send`);
    if (publishErrors > 0) errors.push(`${publishErrors} publishes failed`);
    for (const error of errors) console.log(`error: ${error}`);
    if (values.json !== undefined) {
      const report = {
        startedAt: new Date(performance.timeOrigin + built).toISOString(),
        machine,
        loadAverage: { start: startLoad, end: endLoad },
        options: { count, rate, budgetMs, warmupCount, drainSec, expirySec, pool, modelPath, modelNote },
        frames: { bytes: frameBytes, defects: frames.map((f) => f.defect) },
        gateway: { startupMs: Math.round(gateway.startupMs) },
        brokerConfig: run.brokerConfig(),
        result,
        strays,
        publishErrors,
        errors,
      };
      writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
      console.log(`results written to ${resolve(values.json)}`);
    }
    return errors.length > 0 ? 1 : 0;
  }, values['keep-logs']);
}
