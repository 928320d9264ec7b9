/**
 * A line chart as a self-contained SVG string: one or more panels stacked over a shared x axis, a legend per
 * panel. Hand-written so the bench needs no plotting dependency and the file renders anywhere (a browser,
 * GitHub, an image viewer) with nothing to load.
 */
import { chartScale, tickLabel, type ChartScale, type ScaleKind } from './chart-scale.js';

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond';

export interface ChartPoint {
  x: number;
  /** null leaves a gap: a step with nothing to show (no answer, so no latency). */
  y: number | null;
  /** Tooltip text; defaults to the series name and the value. */
  note?: string;
}

export interface ChartSeries {
  name: string;
  colour: string;
  /** SVG stroke-dasharray, e.g. `6 4`; solid when absent. */
  dash?: string;
  marker?: Marker;
  /** Horizontal shift in px, so series with equal values (two at 100 %) stay side by side, not hidden. */
  offsetPx?: number;
  points: ChartPoint[];
}

export interface ChartPanel {
  yLabel: string;
  yScale: ScaleKind;
  /** Fixed y range; otherwise the data's, widened to whole ticks. */
  yMin?: number;
  yMax?: number;
  /** Plot area height, px. */
  height: number;
  series: ChartSeries[];
  /** Horizontal lines with a label, e.g. a latency budget; they widen the y range to stay visible. */
  references?: { y: number; label: string }[];
}

export interface Chart {
  title: string;
  /** Lines under the title (machine, date, settings). */
  subtitles?: string[];
  xLabel: string;
  /** Where to put x ticks (the measured rates); nice round ticks when absent. */
  xTicks?: number[];
  panels: ChartPanel[];
  /** Total width, px. */
  width?: number;
}

const LEFT = 76;
const LEGEND_WIDTH = 240;
const PANEL_GAP = 56;
const BOTTOM = 58;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const px = (n: number): string => n.toFixed(1);

function markerShape(marker: Marker, x: number, y: number, colour: string): string {
  const paint = `fill="${esc(colour)}" stroke="#fff" stroke-width="1"`;
  switch (marker) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="3.8" ${paint}/>`;
    case 'square':
      return `<rect x="${px(x - 3.5)}" y="${px(y - 3.5)}" width="7" height="7" ${paint}/>`;
    case 'triangle':
      return `<path d="M${px(x)} ${px(y - 4.5)}L${px(x + 4.2)} ${px(y + 3.5)}L${px(x - 4.2)} ${px(y + 3.5)}Z" ${paint}/>`;
    case 'diamond':
      return `<path d="M${px(x)} ${px(y - 4.8)}L${px(x + 4.2)} ${px(y)}L${px(x)} ${px(y + 4.8)}L${px(x - 4.2)} ${px(y)}Z" ${paint}/>`;
  }
}

/** The points a panel can draw: on a log scale a value ≤ 0 has no position and becomes a gap. */
function drawable(panel: ChartPanel, y: number | null): y is number {
  return y !== null && Number.isFinite(y) && (panel.yScale === 'linear' || y > 0);
}

function yScaleOf(panel: ChartPanel, top: number): ChartScale {
  const values = [
    ...panel.series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => drawable(panel, y)),
    ...(panel.references ?? []).map((r) => r.y),
  ];
  const fallback = panel.yScale === 'log' ? [1, 10] : [0, 1];
  const lo = panel.yMin ?? (values.length > 0 ? Math.min(...values) : fallback[0]);
  const hi = panel.yMax ?? (values.length > 0 ? Math.max(...values) : fallback[1]);
  return chartScale(panel.yScale, lo, hi, top + panel.height, top);
}

function xScaleOf(chart: Chart, left: number, right: number): ChartScale {
  const xs = [
    ...chart.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt.x))),
    ...(chart.xTicks ?? []),
  ];
  const hi = xs.length > 0 ? Math.max(...xs) : 1;
  // Rates start at 0: the shape of latency against load reads right only from there.
  if (!chart.xTicks) return chartScale('linear', 0, hi, left, right);
  // Ticks at the data's own x values: the axis ends a little past the last one, not at a round number.
  const max = hi > 0 ? hi * 1.06 : 1;
  return {
    kind: 'linear',
    min: 0,
    max,
    at: (v) => left + (v / max) * (right - left),
    ticks: chart.xTicks.map((value) => ({ value, label: tickLabel(value), major: true })),
  };
}

function seriesSvg(panel: ChartPanel, series: ChartSeries, xScale: ChartScale, y: ChartScale): string {
  const points = [...series.points].sort((a, b) => a.x - b.x);
  const x = { at: (v: number): number => xScale.at(v) + (series.offsetPx ?? 0) };
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!drawable(panel, p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${px(x.at(p.x))} ${px(y.at(p.y))}`;
    pen = true;
  }
  const dash = series.dash ? ` stroke-dasharray="${esc(series.dash)}"` : '';
  const line = d ? `<path d="${d}" fill="none" stroke="${esc(series.colour)}" stroke-width="2"${dash}/>` : '';
  const markers = points
    .filter((p): p is ChartPoint & { y: number } => drawable(panel, p.y))
    .map((p) => {
      const note = p.note ?? `${series.name}: ${tickLabel(p.y)} at ${tickLabel(p.x)}`;
      const shape = markerShape(series.marker ?? 'circle', x.at(p.x), y.at(p.y), series.colour);
      return `<g><title>${esc(note)}</title>${shape}</g>`;
    })
    .join('');
  return `<g class="series" data-series="${esc(series.name)}">${line}${markers}</g>`;
}

function legendSvg(panel: ChartPanel, left: number, top: number): string {
  return panel.series
    .map((s, i) => {
      const y = top + 8 + i * 20;
      const dash = s.dash ? ` stroke-dasharray="${esc(s.dash)}"` : '';
      return (
        `<g class="legend-entry">` +
        `<line x1="${px(left)}" y1="${px(y)}" x2="${px(left + 34)}" y2="${px(y)}" stroke="${esc(s.colour)}" stroke-width="2"${dash}/>` +
        markerShape(s.marker ?? 'circle', left + 17, y, s.colour) +
        `<text x="${px(left + 42)}" y="${px(y + 4)}" font-size="12">${esc(s.name)}</text></g>`
      );
    })
    .join('');
}

function panelSvg(chart: Chart, panel: ChartPanel, top: number, x: ChartScale, last: boolean): string {
  const y = yScaleOf(panel, top);
  const [left, right] = [x.at(x.min), x.at(x.max)];
  const bottom = top + panel.height;
  const yTicks = y.ticks
    .map((t) => {
      const at = y.at(t.value);
      if (!t.major)
        return `<line x1="${px(left - 3)}" y1="${px(at)}" x2="${px(left)}" y2="${px(at)}" stroke="#888"/>`;
      return (
        `<line x1="${px(left)}" y1="${px(at)}" x2="${px(right)}" y2="${px(at)}" stroke="#e3e3e3"/>` +
        `<line x1="${px(left - 6)}" y1="${px(at)}" x2="${px(left)}" y2="${px(at)}" stroke="#444"/>` +
        `<text class="tick-y" x="${px(left - 9)}" y="${px(at + 4)}" font-size="11" text-anchor="end">${esc(t.label)}</text>`
      );
    })
    .join('');
  const xTicks = x.ticks
    .map((t) => {
      const at = x.at(t.value);
      return (
        `<line x1="${px(at)}" y1="${px(top)}" x2="${px(at)}" y2="${px(bottom)}" stroke="#f0f0f0"/>` +
        `<line x1="${px(at)}" y1="${px(bottom)}" x2="${px(at)}" y2="${px(bottom + 5)}" stroke="#444"/>` +
        `<text class="tick-x" x="${px(at)}" y="${px(bottom + 18)}" font-size="11" text-anchor="middle">${esc(t.label)}</text>`
      );
    })
    .join('');
  const references = (panel.references ?? [])
    .map((r) => {
      const at = y.at(r.y);
      return (
        `<line x1="${px(left)}" y1="${px(at)}" x2="${px(right)}" y2="${px(at)}" stroke="#b00" stroke-width="1" stroke-dasharray="2 3"/>` +
        `<text x="${px(right - 4)}" y="${px(at - 5)}" font-size="11" fill="#b00" text-anchor="end">${esc(r.label)}</text>`
      );
    })
    .join('');
  const midY = (top + bottom) / 2;
  const yTitle = `<text x="${px(18)}" y="${px(midY)}" font-size="12" text-anchor="middle" transform="rotate(-90 18 ${px(midY)})">${esc(panel.yLabel)}</text>`;
  const xTitle = last
    ? `<text x="${px((left + right) / 2)}" y="${px(bottom + 40)}" font-size="12" text-anchor="middle">${esc(chart.xLabel)}</text>`
    : '';
  // Lines are clipped to the plot area: a fixed y range (0–100 %) must not let a series draw over the axes.
  const clipId = `plot-${Math.round(top)}`;
  const clip = `<clipPath id="${clipId}"><rect x="${px(left - 6)}" y="${px(top - 6)}" width="${px(right - left + 12)}" height="${px(panel.height + 12)}"/></clipPath>`;
  return (
    `<g class="panel" data-scale="${panel.yScale}">${clip}${xTicks}${yTicks}` +
    `<rect x="${px(left)}" y="${px(top)}" width="${px(right - left)}" height="${px(panel.height)}" fill="none" stroke="#444"/>` +
    `${references}<g clip-path="url(#${clipId})">${panel.series.map((s) => seriesSvg(panel, s, x, y)).join('')}</g>` +
    `${yTitle}${xTitle}${legendSvg(panel, right + 18, top)}</g>`
  );
}

export function svgChart(chart: Chart): string {
  const width = chart.width ?? 940;
  const subtitles = chart.subtitles ?? [];
  const headerHeight = 36 + subtitles.length * 17 + 14;
  const right = width - LEGEND_WIDTH;
  const x = xScaleOf(chart, LEFT, right);
  let top = headerHeight;
  const panels = chart.panels.map((panel, i) => {
    const svg = panelSvg(chart, panel, top, x, i === chart.panels.length - 1);
    top += panel.height + PANEL_GAP;
    return svg;
  });
  const height = top - PANEL_GAP + BOTTOM;
  const header =
    `<text x="${px(LEFT)}" y="26" font-size="16" font-weight="bold">${esc(chart.title)}</text>` +
    subtitles
      .map(
        (line, i) =>
          `<text x="${px(LEFT)}" y="${px(46 + i * 17)}" font-size="12" fill="#444">${esc(line)}</text>`,
      )
      .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${px(height)}" viewBox="0 0 ${width} ${px(height)}" ${FONT}>\n` +
    `<title>${esc(chart.title)}</title>\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n` +
    `${header}\n${panels.join('\n')}\n</svg>\n`
  );
}
