/**
 * `generate` mode in-process on the tiny GGUF: the grammar-constrained JSON answer (decision and reason),
 * R1 thinking off or within its budget, and cancellation by the run's signal.
 */
import t from 'tap';
import { createLlamaModel, type LlamaModelDeps } from '../adapters/llama/model.js';
import { acquireLlamaRuntime } from '../adapters/llama/runtime.js';
import { ErrorCodes } from '../daemon/errors.js';
import { memoryLogger } from './helpers/mqtt-fixtures.js';
import { TRIAGE_LABELS, llamaModelConfig, tinyGguf, triagePrompt } from './helpers/llama-fixtures.js';

const runtime = acquireLlamaRuntime('cpu', memoryLogger().logger);
t.teardown(async () => (await runtime).release());

/** What the warm-up sends: every placeholder filled with 12345. The tiny model answers it at length. */
const SAMPLE = 'Amount 12345 12345, 12345h, 12345 km from home, card present: 12345.';

async function generator(
  prompt: Partial<ReturnType<typeof triagePrompt>>,
  overrides: Partial<LlamaModelDeps> = {},
) {
  const { path } = await tinyGguf();
  const model = createLlamaModel({
    logger: memoryLogger().logger,
    model: llamaModelConfig(path, { llama: { contextSize: 1024 } }),
    pipeline: { name: 'triage', prompt: triagePrompt({ mode: 'generate', ...prompt }), budgetMs: 5000 },
    warmup: { runs: 2, timeLimitMs: 0 },
    ...overrides,
  });
  t.teardown(() => model.dispose());
  await model.load();
  return model;
}

t.test('every answer is a schema-valid decision with a reason, never a thought', async (t) => {
  const model = await generator({ maxAnswerTokens: 96 });
  for (let i = 0; i < 12; i += 1) {
    const prompt = `Amount ${i * 91}.5 EUR, ${i}h, ${i * 7} km from home, card present: ${i % 3 === 0}.`;
    const result = await model.run([prompt], 1);
    const onehot = [...result.outputs];
    t.equal(onehot.filter((p) => p === 1).length, 1, 'one label chosen');
    t.equal(onehot.filter((p) => p === 0).length, TRIAGE_LABELS.length - 1);
    const reason = result.explanations?.[0];
    t.type(reason, 'string', 'the reason comes back as the explanation');
    const answer = JSON.stringify({ decision: TRIAGE_LABELS[onehot.indexOf(1)], reason });
    t.ok(reason!.length <= 96 - 30 - 'decline'.length, 'the reason fits the answer budget');
    t.notMatch(answer, /<think>|<\/think>/, 'no thought in the answer');
  }
});

t.test('R1 thinking within thoughtTokens, then the answer', async (t) => {
  const model = await generator({ thoughtTokens: 12, maxAnswerTokens: 64 });
  const result = await model.run([SAMPLE], 1);
  t.equal([...result.outputs].filter((p) => p === 1).length, 1);
  t.notMatch(result.explanations?.[0] ?? '', /<think>/);
  t.equal(model.info.outputWidth, 3);
});

t.test('the signal stops generation within a token', async (t) => {
  const model = await generator({ maxAnswerTokens: 400 });
  const started = performance.now();
  const full = await model.run([SAMPLE], 1);
  const fullMs = performance.now() - started;
  t.ok(full.explanations?.[0] !== undefined);
  const cancel = new AbortController();
  const timer = setTimeout(() => cancel.abort(), Math.min(30, fullMs / 4));
  const begun = performance.now();
  await t.rejects(model.run([SAMPLE], 1, cancel.signal), { code: ErrorCodes.MODEL_CANCELLED });
  clearTimeout(timer);
  const cancelledMs = performance.now() - begun;
  t.ok(
    cancelledMs < fullMs / 2,
    `stopped after ${cancelledMs.toFixed(0)} ms; the whole answer took ${fullMs.toFixed(0)} ms`,
  );

  const before = model.stats();
  const aborted = AbortSignal.abort();
  await t.rejects(model.run([SAMPLE], 1, aborted), { code: ErrorCodes.MODEL_CANCELLED });
  t.same(model.stats(), before, 'an already answered run evaluates nothing');
  t.ok((await model.run([SAMPLE], 1)).explanations?.[0] !== undefined, 'the sequence is usable afterwards');
});
