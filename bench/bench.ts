/**
 * `npm run bench`: the gateway and a bare MQTT.js + onnxruntime loop, doing the same job against the same
 * private Mosquitto, under the same open-loop load, in one run. Absolute numbers on a shared 2-core box
 * move from run to run; the gateway/bare ratios within a run are what to compare.
 *
 *   node dist/bench/bench.js [--rates 100,1000] [--duration 10] [--warmup 2] [--drain 3] [--pause 2]
 *     [--prime 3] [--target gateway,bare] [--budget 300] [--model FILE] [--seed 1] [--json out.json]
 *     [--keep-logs] [--cpu-prof DIR] [--plot out.svg]
 *   node dist/bench/bench.js --llm [...]   the LLM classify bench instead (bench/llm-bench.ts)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { BenchReport, MemorySample, TargetName } from './bench-report.js';
import { BenchRun } from './bench-run.js';
import { startChild } from './children.js';
import { BROKER_RUN_OPTIONS, cliFlags } from './cli-flags.js';
import { latencyPlotSvg } from './latency-plot.js';
import type { LoadResult } from './load-generator.js';
import { machineInfo } from './machine-info.js';
import { cpuSeconds, memoryStats } from './proc-stats.js';
import { repoRoot } from './repo-root.js';
import { ratios, ratiosTable, resultsTable, warnings } from './report.js';
import { startBareLoop, startGateway, type SystemUnderTest } from './systems-under-test.js';

// `--llm` is a different bench (LLM classify latency and memory, bench/llm-bench.ts) sharing the npm script.
if (process.argv.includes('--llm')) {
  const { runLlmBench } = await import('./llm-bench.js');
  process.exit(await runLlmBench(process.argv.slice(2).filter((arg) => arg !== '--llm')));
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
    budget: { type: 'string', default: '300' },
    expiry: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    plot: { type: 'string' },
    samples: { type: 'string' },
    ...BROKER_RUN_OPTIONS,
  },
});

if (values.help) {
  console.log(
    'usage: node dist/bench/bench.js [--rates 100,1000] [--duration 10] [--warmup 2] [--drain 3] [--pause 2]\n' +
      '  [--target gateway,bare] [--budget 300] [--expiry 10] [--model FILE] [--seed 1]\n' +
      '  [--mosquitto /usr/sbin/mosquitto] [--json out.json] [--keep-logs] [--cpu-prof DIR] [--plot out.svg]\n' +
      '  [--samples DIR]',
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
const targets = values.target.split(',').map((t) => t.trim());
if (values.samples !== undefined) mkdirSync(resolve(values.samples), { recursive: true });
for (const t of targets) if (t !== 'gateway' && t !== 'bare') fail(`unknown --target ${t} (gateway, bare)`);
const wanted = new Set(targets as TargetName[]);
const modelPath = model(values.model);

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

interface StepTiming {
  durationSec: number;
  warmupSec: number;
  drainSec: number;
}

const measuredTiming: StepTiming = { durationSec, warmupSec, drainSec };

/**
 * Waits until the given processes use under 5 % of a core over two consecutive half-second windows (at most
 * `maxMs`), so a backlog left by an overloaded step is not billed to the next one.
 */
async function waitIdle(pids: number[], maxMs = 15_000): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  let quiet = 0;
  let before = pids.map((pid) => cpuSeconds(pid) ?? 0);
  while (performance.now() < deadline) {
    await sleep(500);
    const now = pids.map((pid) => cpuSeconds(pid) ?? 0);
    const busiest = Math.max(...now.map((cpu, i) => cpu - before[i]));
    before = now;
    quiet = busiest < 0.025 ? quiet + 1 : 0;
    if (quiet >= 2) return true;
  }
  return false;
}

async function runStep(
  sut: SystemUnderTest,
  rate: number,
  stepSeed: number,
  timing: StepTiming = measuredTiming,
): Promise<LoadResult> {
  const broker = run.broker!;
  const args = [
    join(repoRoot, 'dist', 'bench', 'load-generator.js'),
    '--url',
    broker.url,
    '--target',
    sut.name,
    '--topic-prefix',
    sut.topicPrefix,
    '--rate',
    String(rate),
    '--duration',
    String(timing.durationSec),
    '--warmup',
    String(timing.warmupSec),
    '--drain',
    String(timing.drainSec),
    '--budget',
    String(budgetMs),
    '--expiry',
    String(expirySec),
    '--seed',
    String(stepSeed),
    '--cpu-pid',
    String(sut.child.pid),
    '--broker-pid',
    String(broker.pid),
    ...(values.samples === undefined
      ? []
      : ['--samples', join(resolve(values.samples), `${sut.name}-${rate}-${stepSeed}.csv`)]),
  ];
  const generator = startChild(`load-generator(${sut.name}@${rate})`, process.execPath, args, {
    logPath: join(workDir, 'load-generator.log'),
    cwd: repoRoot,
    ipc: true,
  });
  const limitMs = (timing.warmupSec + timing.durationSec + timing.drainSec + 60) * 1000;
  const timer = setTimeout(() => void generator.stop(1000), limitMs);
  const exit = await generator.exited;
  clearTimeout(timer);
  const last = generator.stdout().trim().split('\n').pop() ?? '';
  if (exit.code !== 0 || !last.startsWith('{')) {
    throw new Error(`${generator.name} failed (${exit.code ?? exit.signal})\n${generator.logTail()}`);
  }
  return JSON.parse(last) as LoadResult;
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
      modelPath,
    },
    startup: {},
    results: [],
    ratios: [],
    warnings: [],
    errors: [],
  };
  console.log(
    `infergate bench: ${report.machine.cpus} CPU (${report.machine.cpuModel}), Node ${report.machine.node}, ` +
      `Mosquitto ${report.machine.mosquitto}; rates ${rates.join(', ')}/s, ${durationSec} s each ` +
      `(+${warmupSec} s warm-up, ${drainSec} s drain), budget ${budgetMs} ms`,
  );

  const broker = await run.startBroker(values.mosquitto);
  console.log(`broker: ${broker.url} (pid ${broker.pid})`);
  report.options.brokerConfig = run.brokerConfig();

  const suts = new Map<TargetName, SystemUnderTest>();
  const memory = new Map<TargetName, MemorySample>();
  const start = async (name: TargetName): Promise<void> => {
    const common = { repoRoot, brokerUrl: broker.url, modelPath, workDir, timeoutMs: 30_000 };
    const sut =
      name === 'gateway'
        ? await startGateway({
            ...common,
            stateDir: join(workDir, 'state'),
            budgetMs,
            nodeArgs:
              values['cpu-prof'] === undefined
                ? []
                : ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`],
          })
        : await startBareLoop(common);
    suts.set(name, sut);
    const atReady = memoryStats(sut.child.pid);
    memory.set(name, { atReady, maxRssMiB: atReady?.rssMiB ?? null, peak: null });
    console.log(
      `${name}: ready in ${sut.startupMs.toFixed(0)} ms (pid ${sut.child.pid}, RSS ${atReady?.rssMiB.toFixed(1) ?? '?'} MiB)`,
    );
  };
  // One at a time, so neither start-up is slowed by the other.
  for (const name of ['bare', 'gateway'] as const) {
    if (!wanted.has(name)) continue;
    try {
      await start(name);
    } catch (err) {
      report.errors.push(`${name} did not start: ${(err as Error).message}`);
      console.error(`bench: ${name} did not start: ${(err as Error).message}`);
    }
  }
  if (suts.size === 0) throw new Error('no system under test started');

  const busyPids = (): number[] => [broker.pid, ...[...suts.values()].map((s) => s.child.pid)];
  if (primeSec > 0) {
    // The first measured step would otherwise also time V8 compiling the hot paths of the system under test.
    const primeRate = Math.min(500, Math.max(...rates));
    for (const sut of suts.values()) {
      process.stdout.write(`priming ${sut.name} at ${primeRate}/s for ${primeSec} s ... `);
      const primed = await runStep(sut, primeRate, seed + 1000, {
        durationSec: primeSec,
        warmupSec: 0,
        drainSec: 1,
      });
      console.log(`answered ${primed.answered}/${primed.sent}`);
    }
  }

  for (const [index, rate] of rates.entries()) {
    // Alternating the order between rates spreads slow drifts of a shared box over both systems.
    const order: TargetName[] = index % 2 === 0 ? ['gateway', 'bare'] : ['bare', 'gateway'];
    for (const name of order) {
      const sut = suts.get(name);
      if (!sut) continue;
      if (!sut.child.isRunning()) {
        report.errors.push(`${name} exited before the ${rate}/s step\n${sut.child.logTail()}`);
        suts.delete(name);
        continue;
      }
      if (!(await waitIdle(busyPids())))
        report.warnings.push(`${name} @ ${rate}/s: started while still busy`);
      process.stdout.write(`${name} @ ${rate}/s ... `);
      const result = await runStep(sut, rate, seed + index);
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
    if (m) report.startup[name] = { startupMs: Math.round(sut.startupMs), memory: m };
  }
  report.ratios = ratios(report.results);
  report.warnings.push(...warnings(report.results));

  console.log(`\n${resultsTable(report.results)}`);
  if (report.ratios.length > 0) console.log(`\n${ratiosTable(report.ratios)}`);
  console.log('');
  for (const [name, s] of Object.entries(report.startup)) {
    const mib = (x: number | null | undefined): string =>
      x === null || x === undefined ? '?' : x.toFixed(1);
    console.log(
      `${name.padEnd(7)} start-up to ready ${s.startupMs} ms; RSS at ready ${mib(s.memory.atReady?.rssMiB)} MiB, ` +
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
