/**
 * Axis scales for bench/svg-chart.ts: data value → pixel, and the ticks worth labelling. Latencies span
 * decades (1 ms at a light load, seconds in overload), so the latency axis is logarithmic; counts and
 * percentages are linear.
 */

export type ScaleKind = 'linear' | 'log';

export interface Tick {
  value: number;
  label: string;
  /** Drawn as a grid line and labelled; minor ticks are short marks only. */
  major: boolean;
}

export interface ChartScale {
  kind: ScaleKind;
  /** The domain after widening to whole ticks (decades on a log scale). */
  min: number;
  max: number;
  /** Pixel position of `value`, between `from` (at min) and `to` (at max). */
  at(value: number): number;
  ticks: Tick[];
}

export function tickLabel(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** 1, 2 or 5 × 10^k: the smallest such step that gives at most `count` intervals. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const decade = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * decade >= raw) ?? 10) * decade;
}

function linearScale(lo: number, hi: number, from: number, to: number): ChartScale {
  if (hi <= lo) hi = lo === 0 ? 1 : lo + Math.abs(lo);
  const step = niceStep(hi - lo, 5);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: Tick[] = [];
  // Counting steps (not adding them up) keeps 0.1 + 0.2 from drifting into the labels.
  for (let i = 0; min + i * step <= max + step / 1e6; i++) {
    const value = Number((min + i * step).toPrecision(12));
    ticks.push({ value, label: tickLabel(value), major: true });
  }
  return { kind: 'linear', min, max, at: (v) => from + ((v - min) / (max - min)) * (to - from), ticks };
}

function logScale(lo: number, hi: number, from: number, to: number): ChartScale {
  const minExp = Math.floor(Math.log10(lo));
  let maxExp = Math.ceil(Math.log10(hi));
  if (maxExp === minExp) maxExp++;
  const min = 10 ** minExp;
  const max = 10 ** maxExp;
  // Over one or two decades the 2 and 5 marks are worth a label; over more they would crowd the axis.
  const labelled = maxExp - minExp <= 2 ? [1, 2, 5] : [1];
  const ticks: Tick[] = [];
  for (let e = minExp; e <= maxExp; e++) {
    for (let m = 1; m <= 9; m++) {
      const value = Number((m * 10 ** e).toPrecision(12));
      if (value > max) break;
      const major = labelled.includes(m);
      ticks.push({ value, label: major ? tickLabel(value) : '', major });
    }
  }
  const span = Math.log10(max) - Math.log10(min);
  return {
    kind: 'log',
    min,
    max,
    at: (v) => from + ((Math.log10(v) - Math.log10(min)) / span) * (to - from),
    ticks,
  };
}

/**
 * A scale over [lo, hi] widened to whole ticks. A log scale needs lo > 0: the caller leaves out values ≤ 0,
 * which have no place on it.
 */
export function chartScale(kind: ScaleKind, lo: number, hi: number, from: number, to: number): ChartScale {
  return kind === 'log' ? logScale(lo, hi, from, to) : linearScale(lo, hi, from, to);
}
