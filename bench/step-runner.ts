/** One measured step of the bench (a load-generator process against one system), and the idle wait before it. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild } from './children.js';
import type { EventShapeName } from './event-shape.js';
import type { LoadResult } from './load-generator.js';
import type { RunningMosquitto } from './mosquitto-process.js';
import { cpuSeconds } from './proc-stats.js';
import type { SystemUnderTest } from './systems-under-test.js';

export interface StepTiming {
  durationSec: number;
  warmupSec: number;
  drainSec: number;
}

export interface StepContext {
  repoRoot: string;
  workDir: string;
  broker: RunningMosquitto;
  budgetMs: number;
  expirySec: number;
  /** Directory for per-event CSV files (`--samples`), or undefined. */
  samplesDir: string | undefined;
}

/**
 * Waits until the given processes use under 5 % of a core over two consecutive half-second windows (at most
 * `maxMs`), so a backlog left by an overloaded step is not billed to the next one.
 */
export async function waitIdle(pids: number[], maxMs = 15_000): Promise<boolean> {
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

export async function runStep(
  context: StepContext,
  sut: SystemUnderTest,
  event: EventShapeName,
  rate: number,
  stepSeed: number,
  timing: StepTiming,
): Promise<LoadResult> {
  const { broker } = context;
  const args = [
    join(context.repoRoot, 'dist', 'bench', 'load-generator.js'),
    '--url',
    broker.url,
    '--target',
    sut.name,
    '--topic-prefix',
    sut.topicPrefix,
    '--event',
    event,
    '--rate',
    String(rate),
    '--duration',
    String(timing.durationSec),
    '--warmup',
    String(timing.warmupSec),
    '--drain',
    String(timing.drainSec),
    '--budget',
    String(context.budgetMs),
    '--expiry',
    String(context.expirySec),
    '--seed',
    String(stepSeed),
    '--cpu-pid',
    String(sut.child.pid),
    '--broker-pid',
    String(broker.pid),
    ...(context.samplesDir === undefined
      ? []
      : ['--samples', join(context.samplesDir, `${sut.name}-${event}-${rate}-${stepSeed}.csv`)]),
  ];
  const generator = startChild(`load-generator(${sut.name}@${rate})`, process.execPath, args, {
    logPath: join(context.workDir, 'load-generator.log'),
    cwd: context.repoRoot,
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
