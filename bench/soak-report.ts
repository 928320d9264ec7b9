/** What `npm run soak` prints and writes with `--json`: a row per minute and a summary. */
import type { MachineInfo } from './machine-info.js';
import { fmt, round } from './numbers.js';
import { percentile } from './proc-stats.js';
import type { SoakReplies } from './soak-replies.js';

export interface MinuteRow {
  minute: number;
  /** Events sent in this minute / since the start. */
  sent: number;
  sentTotal: number;
  /** Distinct ids answered since the start. */
  answeredTotal: number;
  /** Sent more than --overdue seconds ago and still without a decision. */
  unanswered: number;
  /** Over the replies that arrived in this minute (first reply per id). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Decisions in this minute whose source is not `model` (deadline, overload, expired...). */
  fallbacks: number;
  rssMiB: number | null;
  /** Against the RSS at the end of minute 1. */
  rssGrowthPct: number | null;
  brokerRssMiB: number | null;
  /** The daemon's CPU over the minute, percent of one core. */
  cpuPct: number | null;
}

export interface SoakSummary {
  sent: number;
  answered: number;
  lost: number;
  /** Extra answers for an id already answered. */
  repeats: number;
  /** Ids whose repeated answers differ (decision/source/reason/score). */
  conflicting: number;
  publishErrors: number;
  strays: number;
  reasons: Record<string, number>;
  rssCurveMiB: (number | null)[];
  rssGrowthPct: number | null;
  rssMaxGrowthPct: number | null;
  peakRssMiB: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  gatewayExited: string | null;
  /** Seconds from the last send until everything was answered (or the drain gave up). */
  drainedSec: number | null;
  rssAfterDrainMiB: number | null;
}

export interface SoakReport {
  startedAt: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  rssAtReadyMiB: number | null;
  minutes: MinuteRow[];
  summary: SoakSummary;
}

export function emptySoakSummary(): SoakSummary {
  return {
    sent: 0,
    answered: 0,
    lost: 0,
    repeats: 0,
    conflicting: 0,
    publishErrors: 0,
    strays: 0,
    reasons: {},
    rssCurveMiB: [],
    rssGrowthPct: null,
    rssMaxGrowthPct: null,
    peakRssMiB: null,
    p50Ms: null,
    p99Ms: null,
    gatewayExited: null,
    drainedSec: null,
    rssAfterDrainMiB: null,
  };
}

/** What the sender and the end of the run know; the rest of the summary comes from the replies and minutes. */
export interface SoakEnd {
  sent: number;
  publishErrors: number;
  peakRssMiB: number | null;
  gatewayExited: string | null;
  drainedSec: number | null;
  rssAfterDrainMiB: number | null;
}

export function soakSummary(minutes: MinuteRow[], replies: SoakReplies, end: SoakEnd): SoakSummary {
  const rssCurve = minutes.map((m) => m.rssMiB);
  const first = rssCurve[0] ?? null;
  const last = rssCurve[rssCurve.length - 1] ?? null;
  const valid = rssCurve.filter((x): x is number => x !== null);
  const latencies = replies.latencies.sort((a, b) => a - b);
  return {
    sent: end.sent,
    answered: replies.answered,
    lost: end.sent - replies.answered,
    repeats: replies.repeats,
    conflicting: replies.conflicting,
    publishErrors: end.publishErrors,
    strays: replies.strays,
    reasons: replies.reasons,
    rssCurveMiB: rssCurve,
    rssGrowthPct: first !== null && last !== null ? round((100 * (last - first)) / first, 1) : null,
    rssMaxGrowthPct:
      first !== null && valid.length > 0 ? round((100 * (Math.max(...valid) - first)) / first, 1) : null,
    peakRssMiB: end.peakRssMiB,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    gatewayExited: end.gatewayExited,
    drainedSec: end.drainedSec,
    rssAfterDrainMiB: end.rssAfterDrainMiB,
  };
}

export function minuteLine(row: MinuteRow): string {
  return (
    `minute ${String(row.minute).padStart(3)}  sent ${String(row.sent).padStart(6)} (total ${row.sentTotal})  ` +
    `answered ${row.answeredTotal}  unanswered ${row.unanswered}  ` +
    `p50 ${fmt(row.p50Ms, 2)} ms  p99 ${fmt(row.p99Ms, 2)} ms  fallbacks ${row.fallbacks}  ` +
    `RSS ${fmt(row.rssMiB)} MiB (${row.rssGrowthPct !== null && row.rssGrowthPct >= 0 ? '+' : ''}${fmt(row.rssGrowthPct)} % vs minute 1)  ` +
    `CPU ${fmt(row.cpuPct, 0)} %  broker RSS ${fmt(row.brokerRssMiB)} MiB`
  );
}

export function summaryLines(report: SoakReport): string[] {
  const s = report.summary;
  const lines = [
    `sent ${s.sent}, answered ${s.answered}, lost ${s.lost}, repeats ${s.repeats} (conflicting ${s.conflicting}), ` +
      `publish errors ${s.publishErrors}, strays ${s.strays}`,
    `outcomes: ${Object.entries(s.reasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; latency p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms over the run`,
    `RSS per minute (MiB): [${s.rssCurveMiB.map((x) => fmt(x)).join(', ')}]`,
    `RSS at ready ${fmt(report.rssAtReadyMiB)} MiB; growth minute 1 → last ${fmt(s.rssGrowthPct)} %, ` +
      `largest above minute 1 ${fmt(s.rssMaxGrowthPct)} %; peak (VmHWM) ${fmt(s.peakRssMiB)} MiB; ` +
      `${fmt(s.rssAfterDrainMiB)} MiB after the drain (${fmt(s.drainedSec)} s)`,
  ];
  if (s.gatewayExited !== null) lines.push(`error: ${s.gatewayExited}`);
  return lines;
}
