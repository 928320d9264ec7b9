/**
 * The status page's bookkeeping, without a gateway: recent-latency percentiles over a sliding window,
 * per-minute decision buckets that roll over, the bounded dead-letter ring (code and topic only), the
 * model card summary for both card shapes, and the llama.cpp build read from a memory map.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DeadLetterRing } from '../adapters/ops/dead-letter-ring.js';
import { DecisionMinutes } from '../adapters/ops/decision-minutes.js';
import { LatencyWindow } from '../adapters/ops/latency-window.js';
import { parseLlamaDevice } from '../adapters/llama/device-report.js';
import { quantizationFromFileName, readModelCardSummary } from '../adapters/ops/model-card-summary.js';
import { packageRoot } from './helpers/gateway-process.js';

t.test('latency window: nearest-rank p50/p99 of the decisions inside the window only', async (t) => {
  const window = new LatencyWindow(1000, 60_000);
  t.match(window.summary(0, 100), { count: 0, p50Ms: null, p99Ms: null, withinBudget: null });
  for (let i = 1; i <= 100; i++) window.record(i, 1_000);
  window.record(Number.NaN, 1_000);
  window.record(-1, 1_000);
  t.same(window.summary(2_000, 90), { count: 100, p50Ms: 50, p99Ms: 99, maxMs: 100, withinBudget: 0.9 });
  window.record(500, 70_000);
  t.same(
    window.summary(70_500, 300),
    { count: 1, p50Ms: 500, p99Ms: 500, maxMs: 500, withinBudget: 0 },
    'the older decisions left the window',
  );
  const small = new LatencyWindow(4, 60_000);
  for (const ms of [1, 2, 3, 4, 5, 6]) small.record(ms, 0);
  t.equal(small.summary(1, 10).count, 4, 'the ring keeps its capacity');
  t.equal(small.summary(1, 10).p50Ms, 4);
});

t.test('decision minutes: one bucket per minute, old minutes reused, idle series hidden', async (t) => {
  const minutes = new DecisionMinutes(3);
  const m = (n: number) => n * 60_000 + 5;
  minutes.record('a', 'model', 'ok', m(10));
  minutes.record('a', 'model', 'ok', m(10));
  minutes.record('a', 'fallback', 'deadline', m(11));
  minutes.record('b', 'model', 'ok', m(12));
  let view = minutes.view(m(12));
  t.same(
    view.minutes,
    [10, 11, 12].map((n) => n * 60_000),
  );
  t.same(view.series, [
    { pipeline: 'a', source: 'model', reason: 'ok', counts: [2, 0, 0] },
    { pipeline: 'a', source: 'fallback', reason: 'deadline', counts: [0, 1, 0] },
    { pipeline: 'b', source: 'model', reason: 'ok', counts: [0, 0, 1] },
  ]);
  minutes.record('a', 'model', 'ok', m(13));
  view = minutes.view(m(14));
  t.same(view.series, [
    { pipeline: 'a', source: 'model', reason: 'ok', counts: [0, 1, 0] },
    { pipeline: 'b', source: 'model', reason: 'ok', counts: [1, 0, 0] },
  ]);
  t.same(minutes.view(m(30)).series, [], 'nothing in the last three minutes');
});

t.test('dead-letter ring: newest first, bounded, counts by code, long topics cut', async (t) => {
  const ring = new DeadLetterRing(3);
  for (let i = 0; i < 5; i++) ring.record(i % 2 === 0 ? 'IG_ERR_A' : 'IG_ERR_B', `t/${i}`, i);
  ring.record('IG_ERR_A', `x/${'y'.repeat(500)}`, 9);
  const view = ring.view();
  t.equal(view.total, 6);
  t.same(view.byCode, { IG_ERR_A: 4, IG_ERR_B: 2 });
  t.same(
    view.recent.map((d) => d.at),
    [9, 4, 3],
  );
  t.ok(view.recent[0]!.topic.length <= 201 && view.recent[0]!.topic.endsWith('…'), 'a long topic is cut');
  t.same(Object.keys(view.recent[1]!).sort(), ['at', 'code', 'topic'], 'nothing but time, code and topic');
});

t.test('model card summary: the shipped per-variant card and a per-metric card', async (t) => {
  const shipped = await readModelCardSummary(join(packageRoot, 'models', 'atm-risk.onnx'));
  t.match(shipped, {
    task: 'binary-classification',
    variant: 'int4',
    quantization: 'int4 (com.microsoft MatMulNBits, block 16)',
    headline: 'rocAuc',
    evaluatedOn: 'test split, 12398 rows',
  });
  t.ok(
    shipped!.metrics.some((m) => m.name === 'rocAuc' && m.value > 0.9),
    'the int4 ROC-AUC',
  );
  t.notOk(
    shipped!.metrics.some((m) => m.name === 'bytes'),
    'sizes are not metrics',
  );

  const dir = mkdtempSync(join(tmpdir(), 'infergate-card-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'my-model.int4.json'),
    JSON.stringify({ variant: 'int4', metrics: { rocAuc: { fp32: 0.941, int4: 0.939 }, agreement: 0.992 } }),
  );
  t.match(await readModelCardSummary(join(dir, 'my-model.int4.onnx')), {
    quantization: 'int4',
    metrics: [
      { name: 'rocAuc', value: 0.939 },
      { name: 'agreement', value: 0.992 },
    ],
  });
  writeFileSync(join(dir, 'broken.json'), '{ not json');
  t.equal(await readModelCardSummary(join(dir, 'broken.onnx')), null, 'an unreadable card is absent');
  t.equal(await readModelCardSummary(join(dir, 'none.onnx')), null, 'no card');
  t.equal(quantizationFromFileName('/m/DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf'), 'Q4_K_M');
  t.equal(quantizationFromFileName('/m/model.f16.gguf'), 'F16');
  t.equal(quantizationFromFileName('/m/model.onnx'), null);
});

t.test('llama.cpp build from a memory map: CPU variant, GPU backend, binaries', async (t) => {
  const bins = '/opt/infergate/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64';
  const maps = [
    `7f00-7f01 r--p 00000000 08:01 1 ${bins}/libggml-base.so`,
    `7f01-7f02 r-xp 00000000 08:01 2 ${bins}/libggml-cpu-sapphirerapids.so`,
    `7f02-7f03 r--p 00000000 08:01 3 ${bins}/libllama.v0.4.0.so`,
    '7f03-7f04 rw-p 00000000 00:00 0 [heap]',
  ].join('\n');
  t.same(parseLlamaDevice(maps), { build: 'cpu', cpuVariant: 'sapphirerapids', binaryDir: bins });
  const cuda = `${maps}\n7f05-7f06 r-xp 00000000 08:01 4 /x/linux-x64-cuda/libggml-cuda.so`;
  t.match(parseLlamaDevice(cuda), {
    build: 'cuda',
    cpuVariant: 'sapphirerapids',
    binaryDir: '/x/linux-x64-cuda',
  });
  t.equal(parseLlamaDevice('7f03-7f04 rw-p 00000000 00:00 0 [heap]'), null, 'no llama.cpp loaded');
});
