/**
 * The llama runner in-process, on the tiny GGUF: classification in one forward pass against a cached system
 * prefix, the checks at load (sha256, label tokens, context size), intake checks, and disposal.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLlamaModel, type LlamaModelDeps } from '../adapters/llama/model.js';
import { acquireLlamaRuntime } from '../adapters/llama/runtime.js';
import { ErrorCodes, InputError } from '../daemon/errors.js';
import { memoryLogger } from './helpers/mqtt-fixtures.js';
import { llamaModelConfig, tinyGguf, triagePrompt } from './helpers/llama-fixtures.js';

const PROMPTS = Array.from(
  { length: 10 },
  (_, i) =>
    `Amount ${(13.5 * (i + 1)).toFixed(2)} EUR, ${i + 3}h, ${i * 11} km from home, card present: ${i % 2 === 0}.`,
);

async function runner(overrides: Partial<LlamaModelDeps> = {}) {
  const { path } = await tinyGguf();
  return createLlamaModel({
    logger: memoryLogger().logger,
    model: llamaModelConfig(path),
    pipeline: { name: 'triage', prompt: triagePrompt(), budgetMs: 300 },
    warmup: { runs: 2, timeLimitMs: 0 },
    ...overrides,
  });
}

// One llama runtime for the whole file (starting one tests its native binary in a child process, ~2 s).
const runtime = acquireLlamaRuntime('cpu', memoryLogger().logger);
t.teardown(async () => (await runtime).release());

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

t.test(
  'classify: label distributions in one pass; the system prefix is evaluated once per sequence',
  async (t) => {
    const cached = await runner();
    const uncached = await runner({ prefixCache: false });
    t.teardown(() => Promise.all([cached.dispose(), uncached.dispose()]));
    const info = await cached.load();
    await uncached.load();
    t.equal(cached.inputKind, 'text');
    t.equal(cached.concurrency, 2, 'one run per sequence');
    t.same(info.labels, ['accept', 'review', 'decline']);
    t.equal(info.outputWidth, 3);
    t.equal(info.inputWidth, 0);
    t.ok(info.warmupP50Ms > 0 && info.warmupP95Ms >= info.warmupP50Ms, 'warm-up measured');

    const atLoad = cached.stats();
    t.equal(
      atLoad.primedTokens,
      atLoad.prefixTokens * 2,
      'the prefix was evaluated once into each of 2 sequences',
    );
    const before = uncached.stats();
    for (const prompt of PROMPTS) {
      const a = await cached.run([prompt], 1);
      const b = await uncached.run([prompt], 1);
      t.equal(a.outputs.length, 3);
      t.ok(Math.abs(sum(a.outputs) - 1) < 1e-5, `sums to 1 (${sum(a.outputs)})`);
      t.ok(
        [...a.outputs].every((p) => p >= 0 && p <= 1),
        'probabilities',
      );
      // Not bit-identical: the F16 KV cache and the 8-bit activations of Q4_0 products round differently when
      // the prefix is evaluated in a batch of its own.
      const drift = Math.max(...[...a.outputs].map((p, i) => Math.abs(p - b.outputs[i]!)));
      t.ok(drift < 0.02, `the cached prefix gives the same distribution as a full evaluation (Δ ${drift})`);
    }
    const after = cached.stats();
    t.equal(after.primedTokens, atLoad.primedTokens, 'the prefix was not evaluated again');
    const reused = after.reusedTokens - atLoad.reusedTokens;
    const evaluated = after.evaluatedTokens - atLoad.evaluatedTokens;
    t.ok(reused >= PROMPTS.length * atLoad.prefixTokens, `every run reused the prefix (${reused} tokens)`);
    t.ok(
      evaluated < PROMPTS.length * atLoad.prefixTokens,
      `runs evaluated only their own tokens (${evaluated})`,
    );
    const full = uncached.stats();
    t.equal(full.reusedTokens - before.reusedTokens, 0, 'with the cache off nothing is reused');
    t.ok(
      full.evaluatedTokens - before.evaluatedTokens > evaluated + PROMPTS.length * atLoad.prefixTokens - 1,
    );

    const both = await cached.run([PROMPTS[0]!, PROMPTS[1]!], 2);
    t.equal(both.outputs.length, 6, 'two prompts run side by side on the two sequences');
    t.ok(Math.abs(sum(both.outputs.subarray(3)) - 1) < 1e-5);
  },
);

t.test('intake: a prompt over maxPromptTokens is invalid input', async (t) => {
  const model = await runner();
  t.teardown(() => model.dispose());
  await model.load();
  t.doesNotThrow(() => model.checkInput(PROMPTS[0]!));
  const error = (() => {
    try {
      model.checkInput('x'.repeat(200));
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  t.ok(error instanceof InputError, 'InputError: the event is answered invalid_input');
  t.equal((error as InputError).code, ErrorCodes.INPUT_PROMPT_TOO_LONG);
  await t.rejects(model.run(['x'.repeat(200)], 1), { code: ErrorCodes.INPUT_PROMPT_TOO_LONG });
  await t.rejects(model.run([PROMPTS[0]!, PROMPTS[1]!, PROMPTS[2]!], 3), { code: ErrorCodes.MODEL_RUN });
});

t.test(
  'load refuses: sha256 mismatch, missing file, clashing label tokens, a context too small',
  async (t) => {
    const { path, sha256 } = await tinyGguf();
    const wrong = sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const mismatch = await runner({ model: llamaModelConfig(path, { sha256: wrong }) });
    await t.rejects(mismatch.load(), { code: ErrorCodes.MODEL_SHA256_MISMATCH }, 'sha256 mismatch refused');
    await mismatch.dispose();

    const pinned = await runner({ model: llamaModelConfig(path, { sha256 }) });
    t.equal((await pinned.load()).sha256, sha256, 'the pinned sha256 loads');
    await pinned.dispose();

    const missing = await runner({ model: llamaModelConfig(join(t.testdirName, 'nope.gguf')) });
    await t.rejects(missing.load(), { code: ErrorCodes.MODEL_NOT_FOUND });

    const clash = await runner({
      pipeline: { name: 'triage', prompt: triagePrompt({ labels: ['review', 'reject'] }), budgetMs: 300 },
    });
    await t.rejects(clash.load(), {
      code: ErrorCodes.MODEL_SHAPE,
      message: /"review" and "reject" start with the same token/,
    });

    const small = await runner({
      model: llamaModelConfig(path, { llama: { contextSize: 256 } }),
      pipeline: { name: 'triage', prompt: triagePrompt({ maxPromptTokens: 400 }), budgetMs: 300 },
    });
    await t.rejects(small.load(), {
      code: ErrorCodes.MODEL_SHAPE,
      message: /more than llama.contextSize \(256\)/,
    });
  },
);

t.test('dispose releases everything; two models on one file share it; one device per process', async (t) => {
  await runtime;
  const baseline = new Set(process.getActiveResourcesInfo());
  const dir = t.testdir({});
  const { path } = await tinyGguf();
  const copy = join(dir, 'copy.gguf');
  copyFileSync(path, copy);
  const a = await runner();
  const b = await runner({ model: { ...llamaModelConfig(path), name: 'second' } });
  await Promise.all([a.load(), b.load()]);
  await a.dispose();
  t.equal((await b.run([PROMPTS[0]!], 1)).outputs.length, 3, 'the other model keeps working');

  const gpu = await runner({ model: llamaModelConfig(copy, { llama: { device: 'vulkan' } }) });
  await t.rejects(gpu.load(), { code: ErrorCodes.MODEL_LOAD, message: /one llama runtime/ });
  await b.dispose();
  await b.dispose();
  await t.rejects(
    b.run([PROMPTS[0]!], 1),
    { code: ErrorCodes.MODEL_CLOSED },
    'runs after dispose are refused',
  );

  const early = await runner();
  const loading = early.load();
  await early.dispose();
  await t.rejects(loading, { code: ErrorCodes.MODEL_CLOSED }, 'a load cut short by dispose');

  await new Promise((resolve) => setTimeout(resolve, 50));
  const left = process.getActiveResourcesInfo().filter((name) => !baseline.has(name) && name !== 'TTYWrap');
  t.same(left, [], 'no handles left behind');
});
