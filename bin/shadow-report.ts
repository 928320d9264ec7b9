import type { ShadowComparison } from '../daemon/state/shadow-log.js';

export interface LatencySummary {
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ShadowLabelReport {
  label: string;
  /** Compared events the live model decided with this label. */
  live: number;
  /** Compared events the shadow decided with this label. */
  shadow: number;
  /** Of the `live` ones, how many the shadow decided alike. */
  agreed: number;
  /** agreed / live; null when live is 0. */
  agreement: number | null;
  /** Latencies of the events the live model decided with this label. */
  liveLatency: LatencySummary;
  shadowLatency: LatencySummary;
}

export interface ShadowModelReport {
  model: string;
  sha256: string;
  /** Shadow decisions on record in the period. */
  shadowed: number;
  /** Of those, the ones with a live model decision (a live fallback is not compared). */
  compared: number;
  agreed: number;
  agreement: number | null;
  /** Shadowed events whose live decision was a fallback (deadline, overload, ...). */
  liveFallbacks: number;
  /** Shadowed events with no live decision on record (still pending, or pruned). */
  liveMissing: number;
  /** live label → shadow label → events. */
  confusion: Record<string, Record<string, number>>;
  labels: ShadowLabelReport[];
  latency: { live: LatencySummary; shadow: LatencySummary };
}

export interface ShadowReport {
  pipeline: string;
  /** ISO 8601. */
  since: string;
  /** One per shadow model (name and sha256) seen in the period, the most recent last. */
  shadows: ShadowModelReport[];
}

/** Agreement, confusion and latency of shadow against live decisions, per shadow model and per label. */
export function shadowReport(
  pipeline: string,
  since: number,
  rows: Iterable<ShadowComparison>,
): ShadowReport {
  const groups = new Map<string, ShadowComparison[]>();
  for (const row of rows) {
    const key = `${row.model}\u0000${row.modelSha256}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(row);
  }
  return {
    pipeline,
    since: new Date(since).toISOString(),
    shadows: [...groups.values()].map(modelReport),
  };
}

function modelReport(rows: ShadowComparison[]): ShadowModelReport {
  const compared = rows.filter((r) => r.liveSource === 'model' && r.liveDecision !== null);
  const confusion: Record<string, Record<string, number>> = {};
  const labels = new Set<string>();
  for (const row of compared) {
    const live = row.liveDecision!;
    labels.add(live).add(row.decision);
    const line = (confusion[live] ??= {});
    line[row.decision] = (line[row.decision] ?? 0) + 1;
  }
  const agreed = compared.filter((r) => r.liveDecision === r.decision).length;
  const perLabel = [...labels].sort().map((label): ShadowLabelReport => {
    const live = compared.filter((r) => r.liveDecision === label);
    const alike = live.filter((r) => r.decision === label).length;
    return {
      label,
      live: live.length,
      shadow: compared.filter((r) => r.decision === label).length,
      agreed: alike,
      agreement: live.length === 0 ? null : alike / live.length,
      liveLatency: summary(live.map((r) => r.liveLatencyMs!)),
      shadowLatency: summary(live.map((r) => r.latencyMs)),
    };
  });
  const first = rows[0]!;
  return {
    model: first.model,
    sha256: first.modelSha256,
    shadowed: rows.length,
    compared: compared.length,
    agreed,
    agreement: compared.length === 0 ? null : agreed / compared.length,
    liveFallbacks: rows.filter((r) => r.liveSource !== null && r.liveSource !== 'model').length,
    liveMissing: rows.filter((r) => r.liveDecision === null).length,
    confusion,
    labels: perLabel,
    latency: {
      live: summary(compared.map((r) => r.liveLatencyMs!)),
      shadow: summary(compared.map((r) => r.latencyMs)),
    },
  };
}

/** Nearest-rank percentiles, ms rounded to 0.01. */
function summary(values: number[]): LatencySummary {
  if (values.length === 0) return { p50Ms: null, p99Ms: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => Math.round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]! * 100) / 100;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** The report for a terminal: one block per shadow model. */
export function formatShadowReport(report: ShadowReport): string {
  const lines = [`shadow report: pipeline ${report.pipeline}, since ${report.since}`];
  if (report.shadows.length === 0) lines.push('no shadow decisions on record in this period');
  for (const s of report.shadows) {
    lines.push(
      '',
      `shadow model ${s.model} (sha256 ${s.sha256.slice(0, 12)})`,
      `  events shadowed ${s.shadowed}, compared ${s.compared}, agreement ${percent(s.agreement)}` +
        ` (${s.agreed} of ${s.compared})`,
    );
    if (s.liveFallbacks + s.liveMissing > 0) {
      lines.push(
        `  not compared: ${s.liveFallbacks} live fallbacks, ${s.liveMissing} without a live decision`,
      );
    }
    lines.push(
      `  latency ms     live p50 ${ms(s.latency.live.p50Ms)} p99 ${ms(s.latency.live.p99Ms)}` +
        `   shadow p50 ${ms(s.latency.shadow.p50Ms)} p99 ${ms(s.latency.shadow.p99Ms)}`,
    );
    const labels = s.labels.map((l) => l.label);
    if (labels.length > 0) {
      const width = Math.max(12, ...labels.map((l) => l.length + 2));
      lines.push('', '  confusion (rows: live, columns: shadow)');
      lines.push(`  ${''.padEnd(width)}${labels.map((l) => l.padStart(width)).join('')}`);
      for (const live of labels) {
        const row = labels.map((shadow) => String(s.confusion[live]?.[shadow] ?? 0).padStart(width));
        lines.push(`  ${live.padEnd(width)}${row.join('')}`);
      }
      lines.push('', '  per label (live)   events  shadow  agreement  live p50/p99 ms  shadow p50/p99 ms');
      for (const l of s.labels) {
        lines.push(
          `  ${l.label.padEnd(18)}${String(l.live).padStart(7)}${String(l.shadow).padStart(8)}` +
            `${percent(l.agreement).padStart(11)}` +
            `${`${ms(l.liveLatency.p50Ms)}/${ms(l.liveLatency.p99Ms)}`.padStart(17)}` +
            `${`${ms(l.shadowLatency.p50Ms)}/${ms(l.shadowLatency.p99Ms)}`.padStart(19)}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function percent(value: number | null): string {
  return value === null ? '-' : `${(Math.round(value * 1000) / 10).toFixed(1)} %`;
}

function ms(value: number | null): string {
  return value === null ? '-' : String(value);
}
