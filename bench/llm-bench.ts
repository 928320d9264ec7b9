/**
 * `npm run bench -- --llm`: per-event `classify` latency of an LLM pipeline with the shape of
 * DeepSeek-R1-Distill-Qwen-1.5B (Q4_0, random weights: it costs what the real model costs per token), with the
 * system prompt's KV cache reused and with it disabled, side by side. Each variant runs in its own process
 * through the real adapter (adapters/llama/model.ts), so its load time and resident memory are its own.
 *
 *   node dist/bench/bench.js --llm [--model FILE] [--events 40] [--event-tokens 30] [--system-tokens 120]
 *     [--threads 2] [--budget 300] [--json out.json]
 *
 * Without --model, the R1-shaped model is written once to the temp dir (~1 GB, ~20 s) and reused. The test
 * vocabulary is byte-level, so a token is a byte: the event and system prompt sizes are exact token counts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLlamaModel } from '../adapters/llama/model.js';
import { writeGgufTestModel } from '../tools/dev/gguf-test-model.js';

const LABELS = ['accept', 'review', 'decline'];
const OPTIONS = {
  model: { type: 'string' },
  events: { type: 'string', default: '40' },
  'event-tokens': { type: 'string', default: '30' },
  'system-tokens': { type: 'string', default: '120' },
  threads: { type: 'string', default: '2' },
  budget: { type: 'string', default: '300' },
  json: { type: 'string' },
  child: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

interface VariantResult {
  prefixCache: boolean;
  loadMs: number;
  rssAfterLoadMiB: number;
  peakRssMiB: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  events: number;
  /** Tokens evaluated per event (the event, the template's tail, and the prefix when it is not cached). */
  tokensPerEvent: number;
  prefixTokens: number;
}

interface Settings {
  model: string;
  events: number;
  eventTokens: number;
  systemTokens: number;
  threads: number;
  budgetMs: number;
}

export async function runLlmBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) {
    console.log(
      'usage: node dist/bench/bench.js --llm [--model FILE] [--events 40] [--event-tokens 30]\n' +
        '  [--system-tokens 120] [--threads 2] [--budget 300] [--json out.json]',
    );
    return 0;
  }
  const settings = readSettings(values);
  if (values.model === undefined && !existsSync(settings.model)) {
    mkdirSync(dirname(settings.model), { recursive: true });
    process.stdout.write(`writing the R1-1.5B-shaped model to ${settings.model} (once, ~1 GB) ... `);
    const written = await writeGgufTestModel(settings.model, { shape: 'r1-1.5b', seed: 1 });
    console.log(`${(written.bytes / 2 ** 30).toFixed(2)} GiB`);
  }
  if (!existsSync(settings.model)) {
    console.error(`llm bench: model ${settings.model} not found`);
    return 2;
  }
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log(
    `llm bench: ${settings.model}\n  ${cpus().length} CPU (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ` +
      `threads ${settings.threads}, system prompt ${settings.systemTokens} tokens, events ${settings.eventTokens} tokens, ` +
      `${settings.events} events per variant, load average ${load}`,
  );
  const results: VariantResult[] = [];
  // One variant at a time, each in a fresh process: neither's memory or threads disturb the other.
  for (const cache of ['on', 'off'] as const) {
    process.stdout.write(`prefix cache ${cache} ... `);
    const result = await runChild(argv, cache);
    console.log(`p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms`);
    results.push(result);
  }
  console.log(`\n${table(results)}\n`);
  const cached = results[0]!;
  const rssOk = Math.max(cached.peakRssMiB, cached.rssAfterLoadMiB) <= 2048;
  console.log(
    `target p95 <= ${settings.budgetMs} ms with the cache: ${cached.p95Ms <= settings.budgetMs ? 'met' : 'NOT MET'}; ` +
      `RSS <= 2 GiB: ${rssOk ? 'met' : 'NOT MET'} (load average now ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
  );
  if (values.json !== undefined) {
    const report = { startedAt: new Date().toISOString(), settings, loadAverage: load, results };
    writeFileSync(resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resolve(values.json)}`);
  }
  return 0;
}

function readSettings(values: { [K in keyof typeof OPTIONS]?: string | boolean }): Settings {
  const count = (name: keyof typeof OPTIONS, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  return {
    model: resolve(
      (values.model as string | undefined) ?? join(tmpdir(), 'infergate-bench', 'r1-1.5b-shape.gguf'),
    ),
    events: count('events', 5),
    eventTokens: count('event-tokens', 4),
    systemTokens: count('system-tokens', 1),
    threads: count('threads', 1),
    budgetMs: count('budget', 1),
  };
}

function runChild(argv: string[], cache: 'on' | 'off'): Promise<VariantResult> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [script, ...argv, '--child', cache], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  return new Promise((resolveResult, reject) => {
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{'))
        reject(new Error(`variant ${cache} failed (${code}):\n${out}`));
      else resolveResult(JSON.parse(last) as VariantResult);
    });
  });
}

/** The measuring process: loads the model through the adapter, then classifies distinct events one by one. */
async function measure(settings: Settings, prefixCache: boolean): Promise<VariantResult> {
  const model = createLlamaModel({
    logger: pino({ level: 'warn' }, pino.destination(2)),
    model: {
      name: 'r1-shape',
      runtime: 'llama',
      path: settings.model,
      sha256: null,
      threads: settings.threads,
      workers: 1,
      placement: 'workers',
      maxBatch: 1,
      llama: { device: 'cpu', contextSize: 1024, batchSize: 128, gpuLayers: 0, sequences: 1 },
    },
    pipeline: {
      name: 'bench',
      // Every event must run, however slow: the budget is only compared with the result.
      budgetMs: 600_000,
      prompt: {
        mode: 'classify',
        system: systemPrompt(settings.systemTokens),
        template: '{event}',
        labels: LABELS,
        maxPromptTokens: Math.max(96, settings.eventTokens),
        maxAnswerTokens: 64,
        thoughtTokens: 0,
      },
    },
    prefixCache,
    warmup: { runs: 5, timeLimitMs: 0 },
  });
  const started = performance.now();
  await model.load();
  const loadMs = performance.now() - started;
  const rssAfterLoadMiB = memory().rss;
  const before = model.stats();
  const latencies: number[] = [];
  for (let i = 0; i < settings.events; i += 1) {
    const event = eventText(i, settings.eventTokens);
    model.checkInput(event);
    const begun = performance.now();
    await model.run([event], 1);
    latencies.push(performance.now() - begun);
  }
  const after = model.stats();
  const peakRssMiB = memory().hwm;
  await model.dispose();
  latencies.sort((a, b) => a - b);
  const rank = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  return {
    prefixCache,
    loadMs: Math.round(loadMs),
    rssAfterLoadMiB: Math.round(rssAfterLoadMiB),
    peakRssMiB: Math.round(peakRssMiB),
    p50Ms: rank(0.5),
    p95Ms: rank(0.95),
    maxMs: latencies.at(-1)!,
    events: latencies.length,
    tokensPerEvent: (after.evaluatedTokens - before.evaluatedTokens) / settings.events,
    prefixTokens: after.prefixTokens,
  };
}

/** A system prompt of exactly `tokens` bytes (one token per byte in the test vocabulary). */
function systemPrompt(tokens: number): string {
  const text =
    'You are the risk engine of a card payment terminal. Read the transaction and answer with exactly one ' +
    'word: accept when it looks normal, review when a person should look at it, decline when it is fraud. ';
  return text.repeat(Math.ceil(tokens / text.length)).slice(0, tokens);
}

/** Distinct transactions of exactly `tokens` bytes; they differ from the first characters on. */
function eventText(i: number, tokens: number): string {
  const text = `${(i * 7919) % 10000}.${i % 100} EUR h${(i * 5) % 24} km${(i * 37) % 900} pin${i % 4} card${i % 2} `;
  return text.repeat(Math.ceil(tokens / text.length)).slice(0, tokens);
}

function memory(): { rss: number; hwm: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const mib = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: mib('VmRSS'), hwm: mib('VmHWM') };
}

function table(results: readonly VariantResult[]): string {
  const [cached, uncached] = results as [VariantResult, VariantResult];
  const rows: [string, (r: VariantResult) => string][] = [
    ['classify p50, ms', (r) => r.p50Ms.toFixed(1)],
    ['classify p95, ms', (r) => r.p95Ms.toFixed(1)],
    ['classify max, ms', (r) => r.maxMs.toFixed(1)],
    ['tokens evaluated per event', (r) => r.tokensPerEvent.toFixed(1)],
    ['RSS after load, MiB', (r) => String(r.rssAfterLoadMiB)],
    ['peak RSS (VmHWM), MiB', (r) => String(r.peakRssMiB)],
    ['load + warm-up, ms', (r) => String(r.loadMs)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `${''.padEnd(width)}  ${'prefix cache'.padStart(12)}  ${'no prefix cache'.padStart(15)}`,
    ...rows.map(
      ([label, cell]) =>
        `${label.padEnd(width)}  ${cell(cached).padStart(12)}  ${cell(uncached).padStart(15)}`,
    ),
  ];
  return lines.join('\n');
}

async function childMain(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: OPTIONS });
  const result = await measure(readSettings(values), values.child === 'on');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  childMain().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
