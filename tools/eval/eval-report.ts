/**
 * What `infergate eval` reports about model outputs on labelled rows, and how a quantized model compares
 * with its baseline. Binary models (one output: the probability of class 1) are scored by ROC-AUC, with
 * accuracy and per-class precision/recall at `threshold` and the share of rows flagged at each decision
 * band; multi-class models (one probability per class) by macro F1 of the argmax. Retention is the
 * quantized model's headline metric divided by the baseline's; agreement is the share of rows that get the
 * same decision (same band, or same argmax class).
 */
import {
  argmax,
  averagePrecision,
  classificationReport,
  rocAuc,
  type ClassMetrics,
} from './classification-metrics.js';
import type { EvalTask } from './eval-data.js';

export interface Scoring {
  task: EvalTask;
  /** Binary: score >= threshold predicts class 1. */
  threshold: number;
  /** Binary: ascending lower bounds of the decision bands (e.g. review 0.4, reject 0.8). */
  bands: readonly number[];
}

export interface ModelMetrics {
  rows: number;
  headline: { name: 'rocAuc' | 'macroF1'; value: number };
  accuracy: number;
  macroF1: number;
  rocAuc: number | null;
  averagePrecision: number | null;
  perClass: (ClassMetrics & { name: string })[];
  confusion: number[][];
  /** Binary: at each band's lower bound. */
  atBands: { threshold: number; flaggedRate: number; precision: number; recall: number }[];
}

export interface Comparison {
  retention: number;
  accuracyRetention: number;
  agreement: number;
  maxAbsDiff: number;
  meanAbsDiff: number;
}

export interface Latency {
  batch: number;
  calls: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanPerRowMs: number;
  rowsPerSecond: number;
}

export function checkOutputWidth(task: EvalTask, width: number): string | null {
  if (task.kind === 'binary' && width !== 1) {
    return `the model has ${width} outputs per row; a binary task needs 1 (the probability of class 1)`;
  }
  if (task.kind === 'multiclass' && width !== task.classes.length) {
    return `the model has ${width} outputs per row but ${task.classes.length} classes are named`;
  }
  return null;
}

export function predictions(outputs: Float32Array, rows: number, scoring: Scoring): Uint8Array {
  const width = outputs.length / rows;
  if (scoring.task.kind === 'binary')
    return Uint8Array.from(outputs, (s) => (s >= scoring.threshold ? 1 : 0));
  return Uint8Array.from({ length: rows }, (_, r) => argmax(outputs, r, width));
}

/** Band index per row (binary) or argmax class (multi-class). */
export function decisions(outputs: Float32Array, rows: number, scoring: Scoring): Uint8Array {
  if (scoring.task.kind !== 'binary') return predictions(outputs, rows, scoring);
  return Uint8Array.from(outputs, (s) => scoring.bands.filter((b) => s >= b).length);
}

export function modelMetrics(outputs: Float32Array, labels: Uint8Array, scoring: Scoring): ModelMetrics {
  const rows = labels.length;
  const classes = scoring.task.classes;
  const report = classificationReport(labels, predictions(outputs, rows, scoring), classes.length);
  const perClass = report.perClass.map((m, i) => ({ ...m, name: classes[i]! }));
  if (scoring.task.kind !== 'binary') {
    return {
      rows,
      headline: { name: 'macroF1', value: report.macroF1 },
      accuracy: report.accuracy,
      macroF1: report.macroF1,
      rocAuc: null,
      averagePrecision: null,
      perClass,
      confusion: report.confusion,
      atBands: [],
    };
  }
  const auc = rocAuc(outputs, labels);
  const positives = labels.reduce((s, v) => s + v, 0);
  const atBands = scoring.bands.map((threshold) => {
    let flagged = 0;
    let hits = 0;
    for (let r = 0; r < rows; r++) {
      if (outputs[r]! >= threshold) {
        flagged++;
        hits += labels[r]!;
      }
    }
    return {
      threshold,
      flaggedRate: flagged / rows,
      precision: flagged === 0 ? 0 : hits / flagged,
      recall: positives === 0 ? 0 : hits / positives,
    };
  });
  return {
    rows,
    headline: { name: 'rocAuc', value: auc },
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    rocAuc: auc,
    averagePrecision: averagePrecision(outputs, labels),
    perClass,
    confusion: report.confusion,
    atBands,
  };
}

export function compare(
  model: { outputs: Float32Array; metrics: ModelMetrics },
  baseline: { outputs: Float32Array; metrics: ModelMetrics },
  scoring: Scoring,
): Comparison {
  const rows = model.metrics.rows;
  const a = decisions(model.outputs, rows, scoring);
  const b = decisions(baseline.outputs, rows, scoring);
  let same = 0;
  for (let r = 0; r < rows; r++) if (a[r] === b[r]) same++;
  let max = 0;
  let sum = 0;
  for (let i = 0; i < model.outputs.length; i++) {
    const d = Math.abs(model.outputs[i]! - baseline.outputs[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return {
    retention: model.metrics.headline.value / baseline.metrics.headline.value,
    accuracyRetention: model.metrics.accuracy / baseline.metrics.accuracy,
    agreement: rows === 0 ? 0 : same / rows,
    maxAbsDiff: max,
    meanAbsDiff: model.outputs.length === 0 ? 0 : sum / model.outputs.length,
  };
}

export function latency(callMs: Float64Array, rows: number, batch: number): Latency {
  const sorted = Float64Array.from(callMs).sort();
  const at = (q: number): number =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const total = callMs.reduce((s, v) => s + v, 0);
  return {
    batch,
    calls: callMs.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    meanPerRowMs: rows === 0 ? 0 : total / rows,
    rowsPerSecond: total === 0 ? 0 : (rows / total) * 1000,
  };
}

const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)}%`;
const num = (v: number | null): string => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(4));
const ms = (v: number): string => `${v < 0.1 ? v.toFixed(4) : v.toFixed(3)} ms`;

/** The human-readable report: one column per model, the baseline second. */
export function formatMetrics(
  scoring: Scoring,
  model: ModelMetrics,
  baseline: ModelMetrics | null,
  comparison: Comparison | null,
): string {
  const lines: string[] = [];
  const row = (name: string, a: string, b?: string, c?: string): void => {
    lines.push(
      `  ${name.padEnd(26)}${a.padStart(10)}${b === undefined ? '' : b.padStart(12)}${c === undefined ? '' : c.padStart(12)}`,
    );
  };
  row('', 'model', baseline === null ? undefined : 'baseline', comparison === null ? undefined : 'retention');
  const headlineName = model.headline.name === 'rocAuc' ? 'ROC-AUC' : 'macro F1';
  row(
    headlineName,
    num(model.headline.value),
    baseline === null ? undefined : num(baseline.headline.value),
    comparison === null ? undefined : pct(comparison.retention),
  );
  if (model.averagePrecision !== null) {
    row(
      'average precision',
      num(model.averagePrecision),
      baseline === null ? undefined : num(baseline.averagePrecision),
    );
  }
  if (model.headline.name === 'rocAuc') {
    row('macro F1', num(model.macroF1), baseline === null ? undefined : num(baseline.macroF1));
  }
  const accuracyName = scoring.task.kind === 'binary' ? `accuracy (>= ${scoring.threshold})` : 'accuracy';
  row(
    accuracyName,
    num(model.accuracy),
    baseline === null ? undefined : num(baseline.accuracy),
    comparison === null ? undefined : pct(comparison.accuracyRetention),
  );
  lines.push('');
  lines.push(
    `  ${'class'.padEnd(16)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'support'.padStart(10)}`,
  );
  for (const c of model.perClass) {
    lines.push(
      `  ${c.name.padEnd(16)}${num(c.precision).padStart(10)}${num(c.recall).padStart(10)}${num(c.f1).padStart(10)}${String(c.support).padStart(10)}`,
    );
  }
  for (const band of model.atBands) {
    lines.push(
      `  score >= ${band.threshold}: ${pct(band.flaggedRate)} of rows flagged, precision ${num(band.precision)}, recall ${num(band.recall)}`,
    );
  }
  if (comparison !== null) {
    lines.push('');
    const what =
      scoring.task.kind === 'binary'
        ? `the same decision band (${bandNames(scoring.bands)})`
        : 'the same top class';
    lines.push(`  agreement: ${pct(comparison.agreement)} of rows get ${what}`);
    lines.push(
      `  output difference: max ${comparison.maxAbsDiff.toFixed(5)}, mean ${comparison.meanAbsDiff.toFixed(6)}`,
    );
  }
  return lines.join('\n');
}

export function formatLatency(label: string, l: Latency, threads: number): string {
  return (
    `  ${label}: batch ${l.batch}, ${threads} thread${threads === 1 ? '' : 's'}: p50 ${ms(l.p50Ms)}, p95 ${ms(l.p95Ms)}, ` +
    `p99 ${ms(l.p99Ms)} per call; ${ms(l.meanPerRowMs)} per row (${Math.round(l.rowsPerSecond).toLocaleString('en-US')} rows/s)`
  );
}

function bandNames(bands: readonly number[]): string {
  const edges = [...bands];
  const parts = [`< ${edges[0]}`];
  for (let i = 1; i < edges.length; i++) parts.push(`${edges[i - 1]}–${edges[i]}`);
  parts.push(`>= ${edges[edges.length - 1]}`);
  return parts.join(', ');
}
