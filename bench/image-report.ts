/** The image bench's result: latency of the measured frames, CPU per frame and the gateway's RSS over the run. */
import { fmt, round } from './numbers.js';
import { percentile } from './proc-stats.js';

export interface RssSample {
  /** Seconds since the first measured frame was sent. */
  atSec: number;
  rssMiB: number;
}

export interface ImageBenchResult {
  sent: number;
  answered: number;
  unanswered: number;
  duplicates: number;
  inBudget: number;
  inBudgetPct: number | null;
  fallbacks: number;
  reasons: Record<string, number>;
  decisions: Record<string, number>;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
  achievedRate: number | null;
  sendLagP99Ms: number | null;
  /** Gateway CPU (all threads, libvips and onnxruntime included) per measured frame, ms. */
  gatewayCpuMsPerImage: number | null;
  brokerCpuMsPerImage: number | null;
  generatorCpuSec: number;
  windowSec: number;
  rss: {
    atReadyMiB: number | null;
    afterFirstMinuteMiB: number | null;
    endMiB: number | null;
    hwmEndMiB: number | null;
    /** Length of the first and last windows compared: a minute, or a quarter of a shorter run. */
    compareWindowSec: number;
    firstWindowMeanMiB: number | null;
    lastWindowMeanMiB: number | null;
    growthPct: number | null;
    samples: RssSample[];
  };
}

export interface FrameOutcomes {
  budgetMs: number;
  /** Latency of each measured frame in ms, NaN when unanswered. */
  latencyMs: Float64Array;
  answers: Uint16Array;
  outcome: (string | undefined)[];
  decision: (string | undefined)[];
}

export type LatencySummary = Pick<
  ImageBenchResult,
  | 'sent'
  | 'answered'
  | 'unanswered'
  | 'duplicates'
  | 'inBudget'
  | 'inBudgetPct'
  | 'fallbacks'
  | 'reasons'
  | 'decisions'
  | 'p50Ms'
  | 'p90Ms'
  | 'p99Ms'
  | 'maxMs'
  | 'meanMs'
>;

export function latencySummary(o: FrameOutcomes): LatencySummary {
  const lat: number[] = [];
  const reasons: Record<string, number> = {};
  const decisions: Record<string, number> = {};
  let inBudget = 0;
  let fallbacks = 0;
  let duplicates = 0;
  let sum = 0;
  for (let i = 0; i < o.latencyMs.length; i++) {
    if (o.answers[i]! > 1) duplicates += o.answers[i]! - 1;
    if (o.answers[i] === 0) continue;
    const ms = o.latencyMs[i]!;
    lat.push(ms);
    sum += ms;
    if (ms <= o.budgetMs) inBudget++;
    const outcome = o.outcome[i] ?? '?';
    if (!outcome.startsWith('model/')) fallbacks++;
    reasons[outcome] = (reasons[outcome] ?? 0) + 1;
    const decision = o.decision[i] ?? '?';
    decisions[decision] = (decisions[decision] ?? 0) + 1;
  }
  lat.sort((a, b) => a - b);
  const sent = o.latencyMs.length;
  return {
    sent,
    answered: lat.length,
    unanswered: sent - lat.length,
    duplicates,
    inBudget,
    inBudgetPct: sent > 0 ? round((100 * inBudget) / sent) : null,
    fallbacks,
    reasons,
    decisions,
    p50Ms: round(percentile(lat, 50)),
    p90Ms: round(percentile(lat, 90)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(lat.length > 0 ? lat[lat.length - 1] : null),
    meanMs: round(lat.length > 0 ? sum / lat.length : null),
  };
}

/** RSS at the first minute, first vs last window (a minute, or a quarter of a run shorter than 4 minutes). */
export function rssSummary(
  samples: RssSample[],
  runSec: number,
): Omit<ImageBenchResult['rss'], 'atReadyMiB' | 'endMiB' | 'hwmEndMiB'> {
  const compareWindowSec = Math.min(60, runSec / 4);
  const mean = (xs: RssSample[]): number | null =>
    xs.length === 0 ? null : xs.reduce((s, x) => s + x.rssMiB, 0) / xs.length;
  const first = mean(samples.filter((s) => s.atSec <= compareWindowSec));
  const last = mean(samples.filter((s) => s.atSec >= runSec - compareWindowSec));
  const minute = runSec >= 60 ? samples.find((s) => s.atSec >= 60) : undefined;
  return {
    afterFirstMinuteMiB: round(minute?.rssMiB, 1),
    compareWindowSec: round(compareWindowSec, 1) ?? 0,
    firstWindowMeanMiB: round(first, 1),
    lastWindowMeanMiB: round(last, 1),
    growthPct: first === null || last === null ? null : round((100 * (last - first)) / first, 1),
    samples,
  };
}

export function imageResultLines(r: ImageBenchResult, budgetMs: number): string[] {
  const ms = (x: number | null): string => fmt(x, 1);
  const reasons = Object.entries(r.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const decisions = Object.entries(r.decisions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `frames sent ${r.sent}, answered ${r.answered}, unanswered ${r.unanswered}, duplicates ${r.duplicates}; ` +
      `achieved ${fmt(r.achievedRate, 1)}/s, send lag p99 ${ms(r.sendLagP99Ms)} ms`,
    `latency (publish → decision): p50 ${ms(r.p50Ms)} ms, p90 ${ms(r.p90Ms)} ms, p99 ${ms(r.p99Ms)} ms, ` +
      `max ${ms(r.maxMs)} ms, mean ${ms(r.meanMs)} ms; in budget (${budgetMs} ms) ${fmt(r.inBudgetPct, 2)} %`,
    `outcomes: ${reasons || '-'}; decisions: ${decisions || '-'}`,
    `CPU per image: gateway ${fmt(r.gatewayCpuMsPerImage, 2)} ms, broker ${fmt(r.brokerCpuMsPerImage, 2)} ms ` +
      `(generator ${fmt(r.generatorCpuSec, 1)} s over ${fmt(r.windowSec, 1)} s)`,
    `gateway RSS: at ready ${fmt(r.rss.atReadyMiB)} MiB, after the first minute ${fmt(r.rss.afterFirstMinuteMiB)} MiB, ` +
      `at the end ${fmt(r.rss.endMiB)} MiB, VmHWM ${fmt(r.rss.hwmEndMiB)} MiB; mean of the first ` +
      `${fmt(r.rss.compareWindowSec, 0)} s ${fmt(r.rss.firstWindowMeanMiB)} MiB vs the last ` +
      `${fmt(r.rss.compareWindowSec, 0)} s ${fmt(r.rss.lastWindowMeanMiB)} MiB: growth ${fmt(r.rss.growthPct)} %`,
    `goal p99 <= ${budgetMs} ms: ${r.p99Ms !== null && r.p99Ms <= budgetMs && r.unanswered === 0 ? 'met' : 'NOT MET'}`,
  ];
}
