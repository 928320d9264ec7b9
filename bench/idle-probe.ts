/**
 * `--idle SECONDS`: what a system costs while no event arrives. A gateway box idles most of the day, and
 * every wake-up costs CPU (and, on a fanless or battery-backed box, power), so both are measured side by
 * side for the gateway, the bare loop and Node-RED, from /proc, without attaching a tracer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, round } from './numbers.js';
import { cpuSeconds } from './proc-stats.js';
import { table } from './report.js';
import { waitIdle } from './step-runner.js';

/**
 * Seconds with no events before the window opens. Each system may keep some work going for a while after
 * its last event (the gateway samples event-loop lag for 10–20 s and ends its WAL checkpoint thread ~30 s
 * after the last write); the window measures the state a box spends its quiet hours in.
 */
export const IDLE_SETTLE_SEC = 35;

export interface IdleSample {
  /** Length of the window, s. */
  seconds: number;
  /** User + system CPU of all the process's threads over the window, % of one core. */
  cpuPercent: number;
  /**
   * Voluntary context switches per second summed over the process's threads: each is a thread going to
   * sleep (on a timer, a poll, a condition), so it counts the wake-ups that came before it.
   */
  wakeupsPerSec: number;
  /** Threads at the end of the window. */
  threads: number;
}

/** One idle window of one event shape's systems (and the broker), measured together. */
export interface IdleResult {
  event: string;
  settleSec: number;
  /** Keyed by system name (`gateway`, `bare`, `nodered`, `broker`); null for a process gone by the end. */
  samples: Record<string, IdleSample | null>;
}

/** Per thread id, its voluntary context switches so far; null when the process is gone. */
export function threadSwitches(pid: number): Map<string, number> | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const perThread = new Map<string, number>();
  for (const tid of tids) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status);
      if (m) perThread.set(tid, Number(m[1]));
    } catch {
      // The thread ended between the listing and the read: its switches are not counted.
    }
  }
  return perThread;
}

/**
 * Switches between two counts. A thread that started inside the window counts from zero; one that ended
 * inside it is lost (an idle process does not start and end threads, so this is noted, not corrected).
 */
function switchesBetween(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [tid, n] of after) total += n - (before.get(tid) ?? 0);
  return total;
}

/**
 * Measures every pid over the same window of `seconds`, so the systems share whatever else the box does.
 * Null for a process that is gone by the end.
 */
export async function measureIdle(pids: readonly number[], seconds: number): Promise<(IdleSample | null)[]> {
  const start = pids.map((pid) => ({ cpu: cpuSeconds(pid), switches: threadSwitches(pid) }));
  const startedAt = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - startedAt) / 1000;
  return pids.map((pid, i) => {
    const cpu = cpuSeconds(pid);
    const switches = threadSwitches(pid);
    const before = start[i];
    if (cpu === null || switches === null || before.cpu === null || before.switches === null) return null;
    return {
      seconds: round(elapsed, 1)!,
      cpuPercent: round(((cpu - before.cpu) / elapsed) * 100, 3)!,
      wakeupsPerSec: round(switchesBetween(before.switches, switches) / elapsed, 2)!,
      threads: switches.size,
    };
  });
}

/**
 * The idle window of one event shape: waits until every process is quiet, lets IDLE_SETTLE_SEC pass with
 * no events, then measures them all over the same `seconds`.
 */
export async function idleStep(
  event: string,
  processes: ReadonlyMap<string, number>,
  seconds: number,
): Promise<IdleResult> {
  const names = [...processes.keys()];
  const pids = names.map((name) => processes.get(name)!);
  await waitIdle(pids);
  await sleep(IDLE_SETTLE_SEC * 1000);
  const measured = await measureIdle(pids, seconds);
  const samples: Record<string, IdleSample | null> = {};
  for (const [i, name] of names.entries()) samples[name] = measured[i];
  return { event, settleSec: IDLE_SETTLE_SEC, samples };
}

/** `gateway (atm) idle 30 s: 0.02 % of a core, 0.7 wake-ups/s (13 threads)`. */
export function idleLine(name: string, sample: IdleSample | null): string {
  if (sample === null) return `${name} idle: gone before the end of the window`;
  return (
    `${name} idle ${sample.seconds.toFixed(0)} s: ${sample.cpuPercent.toFixed(2)} % of a core, ` +
    `${sample.wakeupsPerSec.toFixed(1)} wake-ups/s (${sample.threads} threads)`
  );
}

const SYSTEM_ORDER = ['gateway', 'bare', 'nodered', 'broker'];

/** One row per event shape and system, with the gateway divided by each peer. */
export function idleTable(results: readonly IdleResult[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    const gateway = r.samples.gateway ?? null;
    const order = (name: string): number => SYSTEM_ORDER.indexOf(name) + 1 || SYSTEM_ORDER.length + 1;
    const names = Object.keys(r.samples).sort((a, b) => order(a) - order(b));
    for (const name of names) {
      const s = r.samples[name];
      const ratio = (pick: (x: IdleSample) => number): string =>
        name === 'gateway' || name === 'broker' || s === null || gateway === null || pick(s) === 0
          ? ''
          : `${fmt(pick(gateway) / pick(s), 2)}x`;
      rows.push([
        r.event,
        name,
        fmt(s?.cpuPercent, 3),
        fmt(s?.wakeupsPerSec, 2),
        s === null ? '-' : String(s.threads),
        ratio((x) => x.cpuPercent),
        ratio((x) => x.wakeupsPerSec),
      ]);
    }
  }
  const header = [
    'event',
    'system',
    'CPU % of a core',
    'wake-ups/s',
    'threads',
    'CPU gateway/system',
    'wake-ups gateway/system',
  ];
  return table(header, rows, 2);
}
