/**
 * Start-up measurement of an LLM pipeline: a typical event (the template with short field values) is run
 * against the cached system prompt until enough samples or time are collected, giving the p50/p95 the
 * gateway logs against `budgetMs`; a few runs at `maxPromptTokens` give the cost per prompt token. From
 * the fastest runs of each (what an idle model can do at best) follows the longest user message that can
 * still finish within the budget: longer ones can never make it and are answered `overload` without running.
 */
import type { Token } from 'node-llama-cpp';
import type { PromptConfig } from '../../daemon/config.js';
import type { LlamaPromptLayout } from './prompt-layout.js';

export interface WarmupOptions {
  /** One classification or generation for this user message, on an otherwise idle model. */
  run(userTokens: readonly Token[]): Promise<void>;
  typical: readonly Token[];
  /** A user message of `maxPromptTokens` tokens; null when the typical one is already that long. */
  longest: readonly Token[] | null;
  /** Tokens evaluated per event besides the user message (the assistant tag and the prefilled thought). */
  tailTokens: number;
  budgetMs: number;
  runs: number;
  timeLimitMs: number;
}

export interface WarmupResult {
  p50Ms: number;
  p95Ms: number;
  /** Measured typical runs (the first, cold one excluded). */
  runs: number;
  typicalTokens: number;
  /** Fastest run at `maxPromptTokens`; null when not measured. */
  longestMs: number | null;
  /** Longest user message, tokens, that can finish within the budget; null: no limit below maxPromptTokens. */
  fitTokens: number | null;
}

const LONGEST_RUNS = 3;
/** Each template placeholder is filled with this for the typical event. */
const SAMPLE_FIELD_VALUE = '12345';
const PLACEHOLDER = /\{[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\}/g;

/**
 * The warm-up's user messages: the template with every placeholder set to `12345`, and that message padded to
 * `maxPromptTokens` (null when it is already that long).
 */
export function warmupPrompts(
  layout: LlamaPromptLayout,
  prompt: PromptConfig,
): { typical: Token[]; longest: Token[] | null } {
  const typical = layout.tokenizeUser(prompt.template.replace(PLACEHOLDER, SAMPLE_FIELD_VALUE));
  if (typical.length >= prompt.maxPromptTokens) return { typical, longest: null };
  const filler = layout.tokenizeUser(` ${SAMPLE_FIELD_VALUE}`);
  const longest = [...typical];
  while (longest.length < prompt.maxPromptTokens) longest.push(...filler);
  longest.length = prompt.maxPromptTokens;
  return { typical, longest };
}
const MIN_RUNS = 5;

export async function warmUpLlama(options: WarmupOptions): Promise<WarmupResult> {
  const typical: number[] = [];
  const until = performance.now() + options.timeLimitMs;
  await options.run(options.typical);
  while (typical.length < options.runs && (typical.length < MIN_RUNS || performance.now() < until)) {
    typical.push(await timed(() => options.run(options.typical)));
  }
  const longest: number[] = [];
  if (options.longest !== null) {
    const runs = Math.min(LONGEST_RUNS, options.runs);
    for (let i = 0; i < runs; i += 1) longest.push(await timed(() => options.run(options.longest!)));
  }
  const longestMs = longest.length > 0 ? Math.min(...longest) : null;
  return {
    p50Ms: percentile(typical, 0.5),
    p95Ms: percentile(typical, 0.95),
    runs: typical.length,
    typicalTokens: options.typical.length,
    longestMs,
    fitTokens: fitTokens(options, Math.min(...typical), longestMs),
  };
}

/** A line through the two fastest runs (typical, longest) in tokens evaluated per event → milliseconds. */
function fitTokens(options: WarmupOptions, typicalMs: number, longestMs: number | null): number | null {
  if (longestMs === null || longestMs <= options.budgetMs) return null;
  // A model that misses the budget even on a typical event is left to the deadline fallback; shedding by
  // length would answer almost everything `overload` on a guess.
  if (typicalMs > options.budgetMs) return null;
  const typicalTokens = options.typical.length + options.tailTokens;
  const longestTokens = options.longest!.length + options.tailTokens;
  const perToken = Math.max((longestMs - typicalMs) / (longestTokens - typicalTokens), 1e-3);
  const fixedMs = typicalMs - perToken * typicalTokens;
  const total = Math.floor((options.budgetMs - fixedMs) / perToken);
  return Math.max(total - options.tailTokens, options.typical.length);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
