/** Plain-text tables for the benchmark results. */
import type { LoadResult } from './load-generator.js';
import { fmt } from './numbers.js';

/** The systems the gateway is compared with, in table order. */
export const PEERS = ['bare', 'nodered'] as const;

/** Gateway divided by `peer`, for one event shape and rate. */
export interface RatioRow {
  event: string;
  rate: number;
  peer: string;
  p50: number | null;
  p99: number | null;
  cpu: number | null;
}

/** The first `textColumns` columns are left-aligned, the rest (numbers) right-aligned. */
export function table(header: string[], rows: string[][], textColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function resultsTable(results: LoadResult[]): string {
  const header = [
    'event',
    'rate/s',
    'target',
    'sent',
    'answered',
    'in-budget %',
    'fallbacks',
    'dup',
    'unanswered',
    'p50 ms',
    'p99 ms',
    'max ms',
    'CPU s',
    'broker CPU s',
  ];
  const rows = results.map((r) => [
    eventOf(r),
    String(r.rate),
    r.target,
    String(r.sent),
    String(r.answered),
    fmt(r.inBudgetPct, 2),
    String(r.fallbacks),
    String(r.duplicates),
    String(r.unanswered),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    fmt(r.maxMs, 2),
    fmt(r.sutCpuSec, 2),
    fmt(r.brokerCpuSec, 2),
  ]);
  return table(header, rows, 3);
}

/** Result files from before `--event` have ATM events only. */
export function eventOf(r: LoadResult): string {
  return r.event ?? 'atm';
}

/** The distinct (event, rate) steps in run order. */
function steps(results: LoadResult[]): { event: string; rate: number }[] {
  const seen = new Map<string, { event: string; rate: number }>();
  for (const r of results) seen.set(`${eventOf(r)}@${r.rate}`, { event: eventOf(r), rate: r.rate });
  return [...seen.values()];
}

function find(results: LoadResult[], event: string, rate: number, target: string): LoadResult | undefined {
  return results.find((r) => eventOf(r) === event && r.rate === rate && r.target === target);
}

export function ratios(results: LoadResult[]): RatioRow[] {
  const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b <= 0 ? null : a / b;
  return steps(results).flatMap(({ event, rate }) => {
    const gateway = find(results, event, rate, 'gateway');
    if (!gateway) return [];
    return PEERS.flatMap((peer) => {
      const other = find(results, event, rate, peer);
      if (!other) return [];
      return [
        {
          event,
          rate,
          peer,
          p50: div(gateway.p50Ms, other.p50Ms),
          p99: div(gateway.p99Ms, other.p99Ms),
          cpu: div(gateway.sutCpuSec, other.sutCpuSec),
        },
      ];
    });
  });
}

/** One line per event shape and rate, the gateway's ratios to each peer side by side. */
export function ratiosTable(rows: RatioRow[]): string {
  const peers = PEERS.filter((peer) => rows.some((r) => r.peer === peer));
  const header = ['event', 'rate/s'];
  for (const peer of peers) header.push(`p50 gateway/${peer}`, `p99 gateway/${peer}`, `CPU gateway/${peer}`);
  const keys = [...new Map(rows.map((r) => [`${r.event}@${r.rate}`, r])).values()];
  const x = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${fmt(v, 2)}x`);
  const lines = keys.map(({ event, rate }) => {
    const cells = [event, String(rate)];
    for (const peer of peers) {
      const r = rows.find((row) => row.event === event && row.rate === rate && row.peer === peer);
      cells.push(x(r?.p50), x(r?.p99), x(r?.cpu));
    }
    return cells;
  });
  return table(header, lines, 2);
}

/**
 * Notes that make a step's numbers suspect (the generator fell behind its schedule, late replies), and a
 * cross-check: at the same rate and event shape every system gets the same events, so when every event got
 * a model answer the decision counts must match the gateway's, or they do not compute the same thing.
 */
export function warnings(results: LoadResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const step = `${r.target} @ ${r.rate}/s (${eventOf(r)})`;
    if ((r.sendLagP99Ms ?? 0) > 5) {
      notes.push(
        `${step}: the load generator sent up to ${fmt(r.sendLagP99Ms)} ms behind schedule (p99): ` +
          'the box was busy and arrivals were burstier than the nominal rate',
      );
    }
    if (r.achievedRate < 0.95 * r.rate)
      notes.push(`${step}: sent at ${r.achievedRate}/s, below the target rate`);
    if (r.publishErrors > 0) notes.push(`${step}: ${r.publishErrors} publishes failed`);
    if (r.strays > 0)
      notes.push(`${step}: ${r.strays} replies to events this step did not send (late replies)`);
  }
  for (const { event, rate } of steps(results)) {
    const gateway = find(results, event, rate, 'gateway');
    if (!gateway) continue;
    const complete = (r: LoadResult): boolean => r.answered === r.sent && r.fallbacks === 0;
    for (const peer of PEERS) {
      const other = find(results, event, rate, peer);
      if (!other || !complete(gateway) || !complete(other)) continue;
      const keys = new Set([...Object.keys(gateway.decisions), ...Object.keys(other.decisions)]);
      const differs = [...keys].some((k) => (gateway.decisions[k] ?? 0) !== (other.decisions[k] ?? 0));
      if (differs) {
        notes.push(
          `${rate}/s (${event}): gateway and ${peer} decided the same events differently ` +
            `(gateway ${JSON.stringify(gateway.decisions)}, ${peer} ${JSON.stringify(other.decisions)})`,
        );
      }
    }
  }
  return notes;
}

/** In-budget share a rate must reach to count as sustained (issue: ">= 99.9 % answered within budget"). */
export const SUSTAINED_IN_BUDGET_PCT = 99.9;

export interface SaturationRow {
  event: string;
  target: string;
  /** Highest rate of the run sustained, with every lower rate of the run sustained too; null: none. */
  sustainedRate: number | null;
  /** The next rate of the run, which was not sustained, and its in-budget share. */
  next: { rate: number; inBudgetPct: number } | null;
}

/**
 * Saturation as far as this run's rates tell: per event shape and target, the highest rate at which at
 * least SUSTAINED_IN_BUDGET_PCT of the events were answered within budget (and none left unanswered),
 * every lower rate of the run included. A finer grid of `--rates` around it narrows it down.
 */
export function saturation(results: LoadResult[]): SaturationRow[] {
  const rows: SaturationRow[] = [];
  const keys = [...new Set(results.map((r) => `${eventOf(r)}\u0000${r.target}`))];
  for (const key of keys) {
    const [event, target] = key.split('\u0000') as [string, string];
    const runs = results
      .filter((r) => eventOf(r) === event && r.target === target)
      .sort((a, b) => a.rate - b.rate);
    let sustainedRate: number | null = null;
    let next: SaturationRow['next'] = null;
    for (const r of runs) {
      const inBudgetPct = r.inBudgetPct ?? 0;
      if (inBudgetPct >= SUSTAINED_IN_BUDGET_PCT && r.answered === r.sent) sustainedRate = r.rate;
      else {
        next = { rate: r.rate, inBudgetPct };
        break;
      }
    }
    rows.push({ event, target, sustainedRate, next });
  }
  return rows;
}

export function saturationTable(rows: SaturationRow[]): string {
  const header = ['event', 'target', 'sustained rate/s', 'next rate/s', 'its in-budget %'];
  const lines = rows.map((r) => [
    r.event,
    r.target,
    r.sustainedRate === null ? 'none' : String(r.sustainedRate),
    r.next === null ? '-' : String(r.next.rate),
    r.next === null ? '-' : fmt(r.next.inBudgetPct, 2),
  ]);
  return table(header, lines, 2);
}
