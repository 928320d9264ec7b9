/**
 * The bench's latency-vs-rate plot turns a result file's report into a well-formed SVG with a series per
 * system and percentile on a log latency axis.
 */
import t from 'tap';
import type { BenchReport } from '../bench/bench-report.js';
import { latencyPlotSvg } from '../bench/latency-plot.js';
import type { LoadResult } from '../bench/load-generator.js';

function step(target: string, rate: number, p50: number | null, p99: number | null, inBudgetPct: number) {
  const sent = rate * 10;
  const answered = p50 === null ? 0 : sent;
  const result: LoadResult = {
    target,
    rate,
    durationSec: 10,
    warmupSec: 2,
    drainSec: 3,
    budgetMs: 300,
    sent,
    answered,
    inBudget: Math.round((sent * inBudgetPct) / 100),
    inBudgetPct,
    fallbacks: 0,
    reasons: {},
    decisions: {},
    duplicates: 0,
    unanswered: sent - answered,
    strays: 0,
    publishErrors: 0,
    p50Ms: p50,
    p90Ms: p99,
    p99Ms: p99,
    maxMs: p99,
    meanMs: p50,
    achievedRate: rate,
    sendLagP99Ms: 0.1,
    sendLagMaxMs: 0.2,
    sutCpuSec: 1,
    brokerCpuSec: 0.1,
    generatorCpuSec: 0.2,
    windowSec: 13,
  };
  return result;
}

const report: BenchReport = {
  startedAt: '2026-11-28T13:59:14.142Z',
  machine: { cpus: 2, cpuModel: 'Test CPU <x86> & co', node: 'v20.20.2', mosquitto: '2.0.11' },
  options: { rates: [100, 1000, 2000], durationSec: 10, budgetMs: 300 },
  startup: {},
  results: [
    step('gateway', 100, 2.5, 9, 100),
    step('bare', 100, 1.5, 6.2, 100),
    step('bare', 1000, 0.78, 5.6, 100),
    step('gateway', 1000, 3371, 4448, 0),
    // Nothing answered: no latency to plot, a gap in the line, 0 % in budget.
    step('gateway', 2000, null, null, 0),
    step('bare', 2000, 5763, 6704, 0),
  ],
  ratios: [],
  saturation: [],
  warnings: [],
  errors: [],
};

/** Tags balance, one root, attributes quoted, no bare `<` or `&` in text: enough to load as XML. */
function xmlProblem(xml: string): string | null {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const badText = /[<>]|&(?!(?:amp|lt|gt|quot|apos);)/;
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  for (const m of body.matchAll(tag)) {
    const [whole, closing, name, attributes, selfClosing] = m;
    if (badText.test(body.slice(last, m.index))) return `stray markup before offset ${m.index}`;
    if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(attributes)) return `bare & in <${name}>`;
    last = m.index + whole.length;
    if (closing) {
      const open = stack.pop();
      if (open !== name) return `</${name}> at ${m.index} does not close <${open ?? ''}>`;
      continue;
    }
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(name);
  }
  if (body.slice(last).trim() !== '') return 'text after the root element';
  if (stack.length > 0) return `unclosed <${stack.join('>, <')}>`;
  return roots === 1 ? null : `${roots} root elements`;
}

t.test('a bench report becomes a well-formed SVG latency-vs-rate plot on a log axis', async (t) => {
  const svg = latencyPlotSvg([{ label: 'run', report }]);

  t.equal(xmlProblem(svg), null, 'well-formed');
  t.match(svg, /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'an SVG document');
  t.match(svg, 'Test CPU &lt;x86&gt; &amp; co, 2 cores', 'machine in the title, escaped');
  t.match(svg, '2026-11-28', 'date of the run');

  for (const name of [
    'gateway p50',
    'gateway p99',
    'bare p50',
    'bare p99',
    'gateway in budget',
    'bare in budget',
  ]) {
    t.match(svg, `data-series="${name}"`, `series ${name}`);
  }
  const series = (name: string): string =>
    new RegExp(`<g class="series" data-series="${name}">.*?</g></g>`).exec(svg)?.[0] ?? '';
  t.match(series('gateway p99'), 'stroke-dasharray', 'p99 dashed');
  t.notMatch(series('gateway p50'), 'stroke-dasharray', 'p50 solid');
  t.equal(
    series('gateway p50').match(/<title>/g)?.length,
    2,
    'the unanswered step leaves a gap, not a point',
  );
  t.match(svg, 'budget 300 ms', 'budget reference line');

  const logPanel = /<g class="panel" data-scale="log">.*?(?=<g class="panel"|$)/s.exec(svg)?.[0] ?? '';
  const ticks = new Map(
    [...logPanel.matchAll(/<text class="tick-y" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]+)<\/text>/g)].map((m) => [
      m[2],
      Number(m[1]),
    ]),
  );
  t.same(
    [...ticks.keys()],
    ['0.1', '1', '10', '100', '1,000', '10,000'],
    'decade ticks from 0.78 ms to 6.7 s',
  );
  const decade = ticks.get('1')! - ticks.get('10')!;
  t.ok(decade > 20, 'higher latency is higher up');
  for (const [lower, upper] of [
    ['0.1', '1'],
    ['10', '100'],
    ['1,000', '10,000'],
  ]) {
    t.ok(Math.abs(ticks.get(lower)! - ticks.get(upper)! - decade) < 0.2, `${lower}→${upper} as tall as 1→10`);
  }
});
