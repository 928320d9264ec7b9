import path from 'node:path';
import t from 'tap';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { writeSlowModel } from './helpers/test-models.js';
import { modelConfig, silentLogger, tempDir } from './helpers/onnx-fixtures.js';

const TICK_MS = 5;

/** Largest delay of a TICK_MS interval past its due time while `work` runs. */
async function maxTimerLag<T>(
  work: () => Promise<T>,
): Promise<{ lagMs: number; result: T; elapsedMs: number }> {
  let last = performance.now();
  let lagMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  const started = performance.now();
  try {
    const result = await work();
    const elapsedMs = performance.now() - started;
    // Let the interval fire once more, so a stall right at the end of `work` is counted too.
    await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
    return { lagMs, result, elapsedMs };
  } finally {
    clearInterval(timer);
  }
}

t.test('inference runs off the main thread: timers keep firing during a slow run', async (t) => {
  const file = path.join(tempDir(t), 'slow.onnx');
  // ~130 ms per row on a quiet 2-vCPU dev box (one intra-op thread); slower machines only make it longer.
  await writeSlowModel(file, { inputs: 8, outputs: 1, chainLength: 400 });
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  t.teardown(() => model.dispose());
  await model.load();

  const { lagMs, elapsedMs, result } = await maxTimerLag(() => model.run(new Float32Array(8).fill(0.5), 1));
  const runMs = result.inferenceMs;
  t.comment(
    `run ${runMs.toFixed(1)} ms (round trip ${elapsedMs.toFixed(1)} ms), max timer lag ${lagMs.toFixed(1)} ms`,
  );
  t.ok(runMs >= 50, `the model is slow enough to show blocking (${runMs.toFixed(1)} ms)`);
  t.ok(lagMs < runMs / 3, `timer lag ${lagMs.toFixed(1)} ms is small next to a ${runMs.toFixed(1)} ms run`);

  // The lag meter itself: the same measurement over a 100 ms main-thread busy loop does see the stall.
  const blocked = await maxTimerLag(async () => {
    await new Promise((resolve) => setTimeout(resolve, 2 * TICK_MS));
    const until = performance.now() + 100;
    while (performance.now() < until);
  });
  t.ok(blocked.lagMs >= 80, `a blocked main thread shows ${blocked.lagMs.toFixed(1)} ms lag`);
});
