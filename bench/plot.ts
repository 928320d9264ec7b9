/**
 * `node dist/bench/plot.js IN.json [IN2.json ...] -o OUT.svg`: the latency-vs-rate plot of one or more
 * `npm run bench -- --json` result files, as a self-contained SVG. Several files go into one plot, each run
 * named in the legend by its file name: a sweep split over runs, or a before/after comparison.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchReport } from './bench-report.js';
import { latencyPlotSvg, type PlotRun } from './latency-plot.js';

const USAGE = 'usage: node dist/bench/plot.js IN.json [IN2.json ...] -o OUT.svg';

function fail(message: string): never {
  console.error(`plot: ${message}\n${USAGE}`);
  process.exit(2);
}

/** Reads a result file, refusing anything that is not one (a soak's JSON, a truncated file). */
function readRun(path: string): PlotRun {
  let report: Partial<BenchReport>;
  try {
    report = JSON.parse(readFileSync(path, 'utf8')) as Partial<BenchReport>;
  } catch (err) {
    fail(`${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(report.results) || typeof report.machine !== 'object' || !report.options) {
    fail(`${path}: not a bench result file (npm run bench -- --json FILE writes one)`);
  }
  return { label: basename(path).replace(/\.json$/i, ''), report: report as BenchReport };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length === 0) fail('no input file');
if (!values.out) fail('no output file (-o OUT.svg)');

const runs = positionals.map(readRun);
const out = resolve(values.out);
writeFileSync(out, latencyPlotSvg(runs));
const steps = runs.reduce((n, r) => n + r.report.results.length, 0);
console.log(`plot of ${runs.length} run(s), ${steps} steps written to ${out}`);
