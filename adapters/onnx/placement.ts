/**
 * Where an ONNX model runs: inline on the event loop, or on worker threads.
 *
 * A run on a worker costs the main thread more than a tiny model's whole run: the input is posted, the
 * worker wakes, the reply is posted back and wakes the loop again (about 35 µs of main-thread CPU per
 * round trip in the bench profile, bench/README.md), and the result lands in a later turn, so the event and
 * its decision take two state commits instead of one. A 13- or 32-input MLP runs in 15–40 µs for a whole
 * batch. But an inline run blocks everything else on the loop (keepalives, PUBACKs, deadline timers)
 * while it lasts, so only models whose full batch is short go inline.
 *
 * `auto` measures where it is safe to: the model loads and warms up on the workers as any other; then, unless
 * its file is over INLINE_MAX_FILE_BYTES (not microsecond-class, and its load would block the loop), full
 * batches of `maxBatch` rows are timed there (the runtime's own time, the hop excluded). When their p95 is
 * at most INLINE_MAX_BATCH_MS, a session is built on the main thread and the workers let the model go.
 * `inline` builds it on the main thread at once; `workers` never does.
 */
import { NativeSession } from './native-session.js';
import { runRows } from './run-rows.js';
import type { RunLayout } from './worker-protocol.js';

/**
 * The longest a full batch may block the event loop to run inline, ms. At the end of a busy turn several
 * batches may run one after another; at 1 ms each, a burst of a few hundred events still delays timers by
 * a few milliseconds, against budgets of 150–300 ms. A model past it is better off on a thread.
 */
export const INLINE_MAX_BATCH_MS = 1;

/** Files above this are not tried inline under `auto`, bytes. */
export const INLINE_MAX_FILE_BYTES = 4 * 1024 * 1024;

const SINGLE_ROW_RUNS = 50;
/** Full batches timed on a worker before `auto` moves a model inline. */
export const INLINE_PROBE_RUNS = 20;
/** A first (cold) full batch slower than this ends the timing at once, ms. */
const COLD_RUN_LIMIT_MS = 50 * INLINE_MAX_BATCH_MS;
const FULL_BATCH_RUNS = 20;

export interface InlineTiming {
  /** Single-row runs, ms (what ModelInfo's warm-up figures report). */
  singleP50Ms: number;
  singleP95Ms: number;
  /** Runs of `maxBatch` rows, ms: what the placement is decided on. */
  batchP95Ms: number;
}

/**
 * Times the session with zero rows, the first run of each size dropped (lazy allocation, cold caches). A
 * model clearly past the threshold stops the timing early (its p95 is already over it), so a slow model
 * holds the event loop for one or two single-row runs, not for dozens of batches: a single row over
 * INLINE_MAX_BATCH_MS, or a second full batch over it, ends the timing with what was measured.
 */
export function timeInline(
  session: NativeSession,
  layout: RunLayout,
  inputWidth: number,
  maxBatch: number,
): InlineTiming {
  const runOnce = (input: Float32Array, rows: number): number => {
    const started = performance.now();
    runRows(session, input, rows, layout);
    return performance.now() - started;
  };
  // One row first: a row already over a whole batch's allowance settles it without a full batch, which
  // for a slow model could block the loop for maxBatch times as long.
  const rowInput = new Float32Array(inputWidth);
  const cold = runOnce(rowInput, 1);
  const warm = cold > COLD_RUN_LIMIT_MS ? cold : runOnce(rowInput, 1);
  if (warm > INLINE_MAX_BATCH_MS) return { singleP50Ms: warm, singleP95Ms: warm, batchP95Ms: warm };
  const batchInput = new Float32Array(maxBatch * inputWidth);
  runOnce(batchInput, maxBatch);
  const batch: number[] = [];
  let over = 0;
  for (let i = 0; i < FULL_BATCH_RUNS && over < 2; i += 1) {
    const ms = runOnce(batchInput, maxBatch);
    batch.push(ms);
    if (ms > INLINE_MAX_BATCH_MS) over += 1;
  }
  const batchP95Ms = over >= 2 ? Math.max(...batch) : percentile(batch, 0.95);
  const single: number[] = [];
  const singleRuns = over >= 2 ? 1 : SINGLE_ROW_RUNS;
  for (let i = 0; i < singleRuns; i += 1) single.push(runOnce(rowInput, 1));
  return {
    singleP50Ms: percentile(single, 0.5),
    singleP95Ms: percentile(single, 0.95),
    batchP95Ms,
  };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
