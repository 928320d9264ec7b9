import t from 'tap';
import type { Token } from 'node-llama-cpp';
import { warmUpLlama, type WarmupOptions } from '../adapters/llama/warmup.js';

const tokens = (n: number) => Array.from({ length: n }, (_, i) => i as Token);

function options(overrides: Partial<WarmupOptions> = {}): WarmupOptions {
  return {
    run: async () => {},
    typical: tokens(30),
    longest: tokens(96),
    tailTokens: 6,
    budgetMs: 300,
    runs: 5,
    timeLimitMs: 0,
    ...overrides,
  };
}

/** Warm-up against a fake model whose run takes `fixedMs + perTokenMs` per evaluated token, on a fake clock. */
async function measured(fixedMs: number, perTokenMs: number, overrides: Partial<WarmupOptions> = {}) {
  const base = options(overrides);
  let now = 0;
  const realNow = performance.now.bind(performance);
  performance.now = () => now;
  try {
    return await warmUpLlama({
      ...base,
      run: async (user) => {
        now += fixedMs + perTokenMs * (user.length + base.tailTokens);
      },
    });
  } finally {
    performance.now = realNow;
  }
}

t.test('percentiles of the typical event and the longest prompt allowed', async (t) => {
  const result = await measured(20, 5);
  t.equal(result.runs, 5, 'the first, cold run is not counted');
  t.equal(result.p50Ms, 20 + 5 * 36);
  t.equal(result.p95Ms, 20 + 5 * 36);
  t.equal(result.longestMs, 20 + 5 * 102);
  t.equal(result.typicalTokens, 30);
});

t.test(
  'prompts that can never fit the budget: the longest that can, from a line through the fastest runs',
  async (t) => {
    t.equal((await measured(20, 2)).fitTokens, null, 'the longest prompt fits: no limit');
    // 20 + 5 × (n + 6) <= 300  →  n <= 50
    t.equal((await measured(20, 5)).fitTokens, 50);
    t.equal(
      (await measured(200, 5)).fitTokens,
      null,
      'even a typical event misses: left to the deadline fallback',
    );
    t.equal((await measured(20, 5, { longest: null })).fitTokens, null, 'nothing longer to measure');
  },
);
