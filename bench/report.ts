/** Plain-text tables for the benchmark results. */
import type { LoadResult } from './load-generator.js';
import { fmt } from './numbers.js';

export interface RatioRow {
  rate: number;
  p50: number | null;
  p99: number | null;
  cpu: number | null;
}

/** The first `textColumns` columns are left-aligned, the rest (numbers) right-aligned. */
function table(header: string[], rows: string[][], textColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function resultsTable(results: LoadResult[]): string {
  const header = [
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
  return table(header, rows, 2);
}

export function ratios(results: LoadResult[]): RatioRow[] {
  const rates = [...new Set(results.map((r) => r.rate))];
  const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b <= 0 ? null : a / b;
  return rates.flatMap((rate) => {
    const gateway = results.find((r) => r.rate === rate && r.target === 'gateway');
    const bare = results.find((r) => r.rate === rate && r.target === 'bare');
    if (!gateway || !bare) return [];
    return [
      {
        rate,
        p50: div(gateway.p50Ms, bare.p50Ms),
        p99: div(gateway.p99Ms, bare.p99Ms),
        cpu: div(gateway.sutCpuSec, bare.sutCpuSec),
      },
    ];
  });
}

export function ratiosTable(rows: RatioRow[]): string {
  return table(
    ['rate/s', 'p50 gateway/bare', 'p99 gateway/bare', 'CPU gateway/bare'],
    rows.map((r) => [String(r.rate), `${fmt(r.p50, 2)}x`, `${fmt(r.p99, 2)}x`, `${fmt(r.cpu, 2)}x`]),
    1,
  );
}

/**
 * Notes that make a step's numbers suspect (the generator fell behind its schedule, late replies), and a
 * cross-check: at the same rate both systems get the same events, so when every event got a model answer
 * the decision counts must match, or the two do not compute the same thing.
 */
export function warnings(results: LoadResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const step = `${r.target} @ ${r.rate}/s`;
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
  for (const rate of new Set(results.map((r) => r.rate))) {
    const gateway = results.find((r) => r.rate === rate && r.target === 'gateway');
    const bare = results.find((r) => r.rate === rate && r.target === 'bare');
    if (!gateway || !bare) continue;
    const complete = (r: LoadResult): boolean => r.answered === r.sent && r.fallbacks === 0;
    if (!complete(gateway) || !complete(bare)) continue;
    const keys = new Set([...Object.keys(gateway.decisions), ...Object.keys(bare.decisions)]);
    const differs = [...keys].some((k) => (gateway.decisions[k] ?? 0) !== (bare.decisions[k] ?? 0));
    if (differs) {
      notes.push(
        `${rate}/s: gateway and bare decided the same events differently ` +
          `(gateway ${JSON.stringify(gateway.decisions)}, bare ${JSON.stringify(bare.decisions)})`,
      );
    }
  }
  return notes;
}
