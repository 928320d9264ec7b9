/**
 * The bench's latency-vs-rate plot: p50 and p99 of the gateway and the bare loop against the offered rate on
 * a log latency axis, the budget as a reference line, and under it the share of sent events answered within
 * the budget (an unanswered event is out of budget, so overload shows there even when p99 has no answers to
 * rank). Several runs go into one plot, told apart by marker shape and hue.
 */
import type { BenchReport } from './bench-report.js';
import type { LoadResult } from './load-generator.js';
import { svgChart, type ChartPanel, type ChartSeries, type Marker } from './svg-chart.js';

export interface PlotRun {
  /** Names the run in the legend when there are several (e.g. the file name); unused for a single run. */
  label: string;
  report: BenchReport;
}

const TARGETS = ['gateway', 'bare'] as const;
const MARKERS: Marker[] = ['circle', 'square', 'triangle', 'diamond'];
/** Per run: the gateway's colour, then the bare loop's. */
const PALETTE: [string, string][] = [
  ['#1f5fa8', '#e07b00'],
  ['#18a0b0', '#c0302b'],
  ['#7b4fb5', '#7a5a2e'],
  ['#2e8b3a', '#c2479a'],
];
const P99_DASH = '7 4';

function budgetOf(report: BenchReport): number | null {
  const budget = report.options.budgetMs;
  return typeof budget === 'number' && budget > 0 ? budget : null;
}

function stepNote(r: LoadResult): string {
  const ms = (x: number | null): string => (x === null ? '-' : `${x} ms`);
  return (
    `${r.target} @ ${r.rate}/s: p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}, max ${ms(r.maxMs)}; ` +
    `${r.inBudgetPct ?? '-'} % in budget, ${r.answered}/${r.sent} answered, ${r.unanswered} unanswered, ` +
    `${r.fallbacks} fallbacks`
  );
}

/** `2026-11-28 13:59 UTC` from an ISO timestamp (the date the JSON was started). */
function day(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cpuModel}, ${m.cpus} cores, Node ${m.node}, Mosquitto ${m.mosquitto}`;
}

function runSeries(
  run: PlotRun,
  index: number,
  several: boolean,
): { latency: ChartSeries[]; budget: ChartSeries[] } {
  const suffix = several ? ` (${run.label})` : '';
  const marker = MARKERS[index % MARKERS.length];
  const colours = PALETTE[index % PALETTE.length];
  const latency: ChartSeries[] = [];
  const budget: ChartSeries[] = [];
  TARGETS.forEach((target, t) => {
    const steps = run.report.results.filter((r) => r.target === target).sort((a, b) => a.rate - b.rate);
    if (steps.length === 0) return;
    const colour = colours[t];
    const line = (pick: (r: LoadResult) => number | null) =>
      steps.map((r) => ({ x: r.rate, y: pick(r), note: stepNote(r) }));
    latency.push(
      { name: `${target} p50${suffix}`, colour, marker, points: line((r) => r.p50Ms) },
      { name: `${target} p99${suffix}`, colour, marker, dash: P99_DASH, points: line((r) => r.p99Ms) },
    );
    budget.push({
      name: `${target} in budget${suffix}`,
      colour,
      marker,
      // Both systems are often at exactly 100 %: side by side, neither hides the other.
      offsetPx: t === 0 ? -4 : 4,
      points: line((r) => r.inBudgetPct),
    });
  });
  return { latency, budget };
}

export function latencyPlotSvg(runs: PlotRun[]): string {
  if (runs.length === 0) throw new Error('latency plot: no runs');
  const several = runs.length > 1;
  const series = runs.map((run, i) => runSeries(run, i, several));
  const budgets = [...new Set(runs.map((r) => budgetOf(r.report)).filter((b): b is number => b !== null))];
  const rates = [...new Set(runs.flatMap((r) => r.report.results.map((x) => x.rate)))].sort((a, b) => a - b);
  const machines = [...new Set(runs.map((r) => machineLine(r.report)))];
  const dates = runs.map((r) => day(r.report.startedAt));
  const durations = [
    ...new Set(runs.map((r) => r.report.options.durationSec).filter((d) => typeof d === 'number')),
  ];

  const latencyPanel: ChartPanel = {
    yLabel: 'latency, ms (log scale)',
    yScale: 'log',
    height: 340,
    series: series.flatMap((s) => s.latency),
    references: budgets.map((b) => ({ y: b, label: `budget ${b} ms` })),
  };
  const budgetSeries = series.flatMap((s) => s.budget);
  const budgetPanel: ChartPanel = {
    yLabel: 'in budget, % of sent',
    yScale: 'linear',
    yMin: 0,
    yMax: 100,
    series: budgetSeries,
    // Tall enough for its legend, which lists a line per system and run.
    height: Math.max(130, budgetSeries.length * 20 + 10),
  };
  return svgChart({
    title: 'infergate bench: latency vs offered rate (p50 solid, p99 dashed)',
    subtitles: [
      machines.join('; '),
      `${several ? 'runs' : 'run'} of ${[...new Set(dates)].join(', ')}; open loop` +
        (durations.length > 0 ? `, ${durations.join('/')} s measured per rate and system` : ''),
    ],
    xLabel: 'offered rate, events/s',
    xTicks: rates,
    panels: [latencyPanel, budgetPanel],
  });
}
