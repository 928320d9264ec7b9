/**
 * The bench's latency-vs-rate plot: p50 and p99 of the gateway, the bare loop and Node-RED against the offered rate on
 * a log latency axis, the budget as a reference line, and under it the share of sent events answered within
 * the budget (an unanswered event is out of budget, so overload shows there even when p99 has no answers to
 * rank). Several runs, and the event shapes of a run, go into one plot, told apart by marker shape and hue.
 */
import type { BenchReport } from './bench-report.js';
import type { LoadResult } from './load-generator.js';
import { eventOf } from './report.js';
import { svgChart, type ChartPanel, type ChartSeries, type Marker } from './svg-chart.js';

export interface PlotRun {
  /** Names the run in the legend when there are several (e.g. the file name); unused for a single run. */
  label: string;
  report: BenchReport;
}

const TARGETS = ['gateway', 'bare', 'nodered'] as const;
const MARKERS: Marker[] = ['circle', 'square', 'triangle', 'diamond'];
/** Per run (and event shape): the gateway's colour, then the bare loop's, then Node-RED's. */
const PALETTE: [string, string, string][] = [
  ['#1f5fa8', '#e07b00', '#2e8b3a'],
  ['#18a0b0', '#c0302b', '#8c8c00'],
  ['#7b4fb5', '#7a5a2e', '#d4578a'],
  ['#2e8b3a', '#c2479a', '#555555'],
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

/** One line group: a run's results for one event shape. */
interface PlotGroup {
  /** Legend suffix; empty when the plot has a single group. */
  label: string;
  results: LoadResult[];
}

function groups(runs: PlotRun[]): PlotGroup[] {
  const perRun = runs.map((run) => {
    const events = [...new Set(run.report.results.map(eventOf))];
    return { run, events };
  });
  const severalRuns = runs.length > 1;
  const severalEvents = perRun.some((r) => r.events.length > 1);
  return perRun.flatMap(({ run, events }) =>
    events.map((event) => ({
      label: [severalRuns ? run.label : '', severalEvents ? event : ''].filter(Boolean).join(', '),
      results: run.report.results.filter((r) => eventOf(r) === event),
    })),
  );
}

function runSeries(group: PlotGroup, index: number): { latency: ChartSeries[]; budget: ChartSeries[] } {
  const suffix = group.label === '' ? '' : ` (${group.label})`;
  const marker = MARKERS[index % MARKERS.length];
  const colours = PALETTE[index % PALETTE.length];
  const latency: ChartSeries[] = [];
  const budget: ChartSeries[] = [];
  const present = TARGETS.filter((target) => group.results.some((r) => r.target === target));
  present.forEach((target, slot) => {
    const steps = group.results.filter((r) => r.target === target).sort((a, b) => a.rate - b.rate);
    const colour = colours[TARGETS.indexOf(target)];
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
      // The systems are often all at exactly 100 %: side by side, none hides another.
      offsetPx: (slot - (present.length - 1) / 2) * 8,
      points: line((r) => r.inBudgetPct),
    });
  });
  return { latency, budget };
}

export function latencyPlotSvg(runs: PlotRun[]): string {
  if (runs.length === 0) throw new Error('latency plot: no runs');
  const several = runs.length > 1;
  const series = groups(runs).map((group, i) => runSeries(group, i));
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
