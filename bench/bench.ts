/**
 * `npm run bench`: the gateway, a bare MQTT.js + onnxruntime loop and (with `--target ...,nodered`) a
 * Node-RED flow, doing the same job against the same private Mosquitto, under the same open-loop load, in
 * one run, for one or more event shapes. Absolute numbers on a shared 2-core box move from run to run; the
 * gateway/bare and gateway/nodered ratios within a run are what to compare.
 *
 *   node dist/bench/bench.js [--rates 100,1000] [--duration 10] [--warmup 2] [--drain 3] [--pause 2]
 *     [--prime 3] [--target gateway,bare,nodered] [--event atm,wide] [--budget 300] [--model FILE]
 *     [--seed 1] [--json out.json] [--keep-logs] [--cpu-prof DIR] [--plot out.svg] [--nodered-dir DIR]
 *     [--nodered-nagle] [--idle 30]
 *   node dist/bench/bench.js --llm [...]   the LLM classify bench instead (bench/llm-bench.ts)
 *   node dist/bench/bench.js --images [...]   camera frames through an image pipeline (bench/image-bench.ts)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { TARGET_NAMES, type BenchReport, type MemorySample, type TargetName } from './bench-report.js';
import { BenchRun } from './bench-run.js';
import { BROKER_RUN_OPTIONS, cliFlags } from './cli-flags.js';
import { EVENT_SHAPES, eventShape, type EventShape } from './event-shape.js';
import { IDLE_SETTLE_SEC, idleLine, idleStep, idleTable } from './idle-probe.js';
import { latencyPlotSvg } from './latency-plot.js';
import { machineInfo } from './machine-info.js';
import { defaultNodeRedDir, ensureNodeRed, type NodeRedInstall } from './nodered-install.js';
import { startNodeRed } from './nodered-process.js';
import { memoryStats } from './proc-stats.js';
import { repoRoot } from './repo-root.js';
import { ratios, ratiosTable, resultsTable, saturation, saturationTable, warnings } from './report.js';
import { runStep, waitIdle, type StepContext, type StepTiming } from './step-runner.js';
import { pipelineSections, startBareLoop, startGateway, type SystemUnderTest } from './systems-under-test.js';
import { writeWideModel } from './wide-model.js';

// `--llm` is a different bench (LLM classify latency and memory, bench/llm-bench.ts) sharing the npm script.
if (process.argv.includes('--llm')) {
  const { runLlmBench } = await import('./llm-bench.js');
  process.exit(await runLlmBench(process.argv.slice(2).filter((arg) => arg !== '--llm')));
}
// `--images` is the camera-frame bench (bench/image-bench.ts).
if (process.argv.includes('--images')) {
  const { runImageBench } = await import('./image-bench.js');
  await runImageBench(process.argv.slice(2).filter((arg) => arg !== '--images'));
}

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '100,1000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    drain: { type: 'string', default: '3' },
    pause: { type: 'string', default: '2' },
    prime: { type: 'string', default: '3' },
    target: { type: 'string', default: 'gateway,bare' },
    event: { type: 'string', default: 'atm' },
    'nodered-dir': { type: 'string' },
    'nodered-nagle': { type: 'boolean', default: false },
    budget: { type: 'string', default: '300' },
    expiry: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    plot: { type: 'string' },
    samples: { type: 'string' },
    idle: { type: 'string', default: '0' },
    ...BROKER_RUN_OPTIONS,
  },
});

if (values.help) {
  console.log(
    'usage: node dist/bench/bench.js [--rates 100,1000] [--duration 10] [--warmup 2] [--drain 3] [--pause 2]\n' +
      '  [--target gateway,bare,nodered] [--event atm,wide] [--budget 300] [--expiry 10] [--model FILE]\n' +
      '  [--seed 1] [--mosquitto /usr/sbin/mosquitto] [--json out.json] [--keep-logs] [--cpu-prof DIR]\n' +
      '  [--plot out.svg] [--samples DIR] [--nodered-dir DIR] [--nodered-nagle] [--idle SECONDS]',
  );
  process.exit(0);
}

const { fail, positive, model } = cliFlags('bench');
const rates = values.rates.split(',').map((r) => positive('rates', r.trim()));
const durationSec = positive('duration', values.duration);
const warmupSec = positive('warmup', values.warmup, true);
const drainSec = positive('drain', values.drain, true);
const pauseSec = positive('pause', values.pause, true);
const primeSec = positive('prime', values.prime, true);
const budgetMs = positive('budget', values.budget);
const expirySec = positive('expiry', values.expiry);
const seed = positive('seed', values.seed, true);
const idleSec = positive('idle', values.idle, true);
const targets = values.target.split(',').map((t) => t.trim());
if (values.samples !== undefined) mkdirSync(resolve(values.samples), { recursive: true });
for (const t of targets) {
  if (!TARGET_NAMES.includes(t as TargetName)) fail(`unknown --target ${t} (${TARGET_NAMES.join(', ')})`);
}
const wanted = new Set(targets as TargetName[]);
const events = [...new Set(values.event.split(',').map((e) => e.trim()))];
for (const e of events) {
  if (!(EVENT_SHAPES as readonly string[]).includes(e))
    fail(`unknown --event ${e} (${EVENT_SHAPES.join(', ')})`);
}
const shapes = events.map(eventShape);
// --model is the ATM model; the wide model is generated into the temp dir.
const atmModelPath = events.includes('atm') ? model(values.model) : null;
const noderedDir = resolve(values['nodered-dir'] ?? defaultNodeRedDir());

const run = new BenchRun('bench');
const { workDir } = run;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping everything (logs kept in ${workDir})`);
    void run.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const measuredTiming: StepTiming = { durationSec, warmupSec, drainSec };

/** Start-up, memory and the results of one event shape: its systems start fresh and stop at its end. */
async function runShape(
  shape: EventShape,
  modelPath: string,
  report: BenchReport,
  context: StepContext,
  install: NodeRedInstall | undefined,
): Promise<void> {
  const { broker } = context;
  const suts = new Map<TargetName, SystemUnderTest>();
  const memory = new Map<TargetName, MemorySample>();
  const key = (name: TargetName): string => (shapes.length > 1 ? `${shape.name}/${name}` : name);
  const start = async (name: TargetName): Promise<void> => {
    const common = { repoRoot, brokerUrl: broker.url, modelPath, workDir, timeoutMs: 30_000, shape };
    let sut: SystemUnderTest;
    if (name === 'gateway') {
      sut = await startGateway({
        ...common,
        stateDir: join(workDir, `state-${shape.name}`),
        budgetMs,
        nodeArgs:
          values['cpu-prof'] === undefined
            ? []
            : ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`],
      });
    } else if (name === 'nodered') {
      sut = await startNodeRed({
        ...common,
        install: install!,
        sections: pipelineSections(shape, repoRoot),
        nagle: values['nodered-nagle'],
      });
    } else {
      sut = await startBareLoop(common);
    }
    suts.set(name, sut);
    const atReady = memoryStats(sut.child.pid);
    memory.set(name, { atReady, maxRssMiB: atReady?.rssMiB ?? null, peak: null });
    console.log(
      `${name} (${shape.name}): ready in ${sut.startupMs.toFixed(0)} ms (pid ${sut.child.pid}, ` +
        `RSS ${atReady?.rssMiB.toFixed(1) ?? '?'} MiB)`,
    );
  };
  // One at a time, so no start-up is slowed by another.
  for (const name of ['bare', 'nodered', 'gateway'] as const) {
    if (!wanted.has(name) || (name === 'nodered' && install === undefined)) continue;
    try {
      await start(name);
    } catch (err) {
      report.errors.push(`${name} (${shape.name}) did not start: ${(err as Error).message}`);
      console.error(`bench: ${name} (${shape.name}) did not start: ${(err as Error).message}`);
    }
  }
  if (suts.size === 0) throw new Error('no system under test started');

  const busyPids = (): number[] => [broker.pid, ...[...suts.values()].map((s) => s.child.pid)];
  if (primeSec > 0) {
    // The first measured step would otherwise also time V8 compiling the hot paths of the system under test.
    const primeRate = Math.min(500, Math.max(...rates));
    for (const sut of suts.values()) {
      process.stdout.write(`priming ${sut.name} (${shape.name}) at ${primeRate}/s for ${primeSec} s ... `);
      const primed = await runStep(context, sut, shape.name, primeRate, seed + 1000, {
        durationSec: primeSec,
        warmupSec: 0,
        drainSec: 1,
      });
      console.log(`answered ${primed.answered}/${primed.sent}`);
    }
  }

  if (idleSec > 0) {
    console.log(
      `idle (${shape.name}): ${IDLE_SETTLE_SEC} s to settle, then ${idleSec} s measured, no events`,
    );
    const processes = new Map([...suts].map(([name, sut]) => [name as string, sut.child.pid]));
    processes.set('broker', broker.pid);
    const idle = await idleStep(shape.name, processes, idleSec);
    (report.idle ??= []).push(idle);
    for (const [name, sample] of Object.entries(idle.samples)) console.log(`  ${idleLine(name, sample)}`);
  }

  const present = TARGET_NAMES.filter((name) => suts.has(name));
  for (const [index, rate] of rates.entries()) {
    // Rotating the order between rates spreads slow drifts of a shared box over every system.
    const shift = index % present.length;
    const order = [...present.slice(shift), ...present.slice(0, shift)];
    for (const name of order) {
      const sut = suts.get(name);
      if (!sut) continue;
      if (!sut.child.isRunning()) {
        report.errors.push(
          `${name} exited before the ${rate}/s step (${shape.name})\n${sut.child.logTail()}`,
        );
        suts.delete(name);
        continue;
      }
      if (!(await waitIdle(busyPids())))
        report.warnings.push(`${name} @ ${rate}/s (${shape.name}): started while still busy`);
      process.stdout.write(`${name} @ ${rate}/s (${shape.name}) ... `);
      const result = await runStep(context, sut, shape.name, rate, seed + index, measuredTiming);
      report.results.push(result);
      console.log(
        `answered ${result.answered}/${result.sent}, p50 ${result.p50Ms ?? '-'} ms, p99 ${result.p99Ms ?? '-'} ms`,
      );
      const m = memory.get(name);
      const now = memoryStats(sut.child.pid);
      if (m && now) m.maxRssMiB = Math.max(m.maxRssMiB ?? 0, now.rssMiB);
      await sleep(pauseSec * 1000);
    }
  }

  for (const [name, sut] of suts) {
    const m = memory.get(name);
    if (m) m.peak = memoryStats(sut.child.pid);
    if (m) report.startup[key(name)] = { event: shape.name, startupMs: Math.round(sut.startupMs), memory: m };
  }
  // The next shape starts its systems afresh (another model, another pipeline).
  await Promise.all([...suts.values()].map((sut) => sut.child.stop()));
}

async function main(): Promise<number> {
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(values.mosquitto),
    options: {
      rates,
      durationSec,
      warmupSec,
      drainSec,
      pauseSec,
      primeSec,
      budgetMs,
      expirySec,
      seed,
      targets,
      events,
      modelPath: atmModelPath,
      idleSec,
    },
    startup: {},
    results: [],
    ratios: [],
    saturation: [],
    warnings: [],
    errors: [],
  };
  console.log(
    `infergate bench: ${report.machine.cpus} CPU (${report.machine.cpuModel}), Node ${report.machine.node}, ` +
      `Mosquitto ${report.machine.mosquitto}; rates ${rates.join(', ')}/s, ${durationSec} s each ` +
      `(+${warmupSec} s warm-up, ${drainSec} s drain), budget ${budgetMs} ms; events ${events.join(', ')}`,
  );

  let install: NodeRedInstall | undefined;
  if (wanted.has('nodered')) {
    try {
      install = await ensureNodeRed(noderedDir, join(workDir, 'nodered-install.log'));
      report.options.nodered = {
        version: install.version,
        dir: install.dir,
        tcpNoDelay: !values['nodered-nagle'],
      };
      console.log(`node-red ${install.version} from ${install.dir}`);
    } catch (err) {
      report.errors.push(`node-red not installed: ${(err as Error).message}`);
      console.error(`bench: node-red not installed: ${(err as Error).message}`);
    }
  }

  const broker = await run.startBroker(values.mosquitto);
  console.log(`broker: ${broker.url} (pid ${broker.pid})`);
  report.options.brokerConfig = run.brokerConfig();
  const context: StepContext = {
    repoRoot,
    workDir,
    broker,
    budgetMs,
    expirySec,
    samplesDir: values.samples === undefined ? undefined : resolve(values.samples),
  };

  for (const shape of shapes) {
    const modelPath = shape.name === 'atm' ? atmModelPath! : writeWideModel(workDir);
    if (shape.name === 'wide') report.options.wideModelPath = modelPath;
    await runShape(shape, modelPath, report, context, install);
  }

  report.ratios = ratios(report.results);
  report.saturation = saturation(report.results);
  report.warnings.push(...warnings(report.results));

  console.log(`\n${resultsTable(report.results)}`);
  if (report.ratios.length > 0) console.log(`\n${ratiosTable(report.ratios)}`);
  console.log(`\nsaturation: the highest rate of this run with >= 99.9 % answered in budget\n`);
  console.log(saturationTable(report.saturation));
  if (report.idle) console.log(`\nidle, no events (${idleSec} s):\n${idleTable(report.idle)}`);
  console.log('');
  for (const [name, s] of Object.entries(report.startup)) {
    const mib = (x: number | null | undefined): string =>
      x === null || x === undefined ? '?' : x.toFixed(1);
    console.log(
      `${name.padEnd(15)} start-up to ready ${s.startupMs} ms; RSS at ready ${mib(s.memory.atReady?.rssMiB)} MiB, ` +
        `max after a step ${mib(s.memory.maxRssMiB)} MiB, peak (VmHWM) ${mib(s.memory.peak?.hwmMiB)} MiB`,
    );
  }
  for (const note of report.warnings) console.log(`note: ${note}`);
  for (const error of report.errors) console.log(`error: ${error}`);

  if (values.json) {
    writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resolve(values.json)}`);
  }
  if (values.plot) {
    writeFileSync(resolve(values.plot), latencyPlotSvg([{ label: 'this run', report }]));
    console.log(`plot written to ${resolve(values.plot)}`);
  }
  return report.errors.length > 0 ? 1 : 0;
}

// After Ctrl-C the errors are only the children being stopped.
await run.finish(main, values['keep-logs'], () => interrupted);
