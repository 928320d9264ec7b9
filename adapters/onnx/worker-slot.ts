/**
 * One thread of adapters/onnx/worker-pool.ts as the pool sees it: its state, the requests it holds, and
 * how it is closed without being terminated inside onnxruntime (see the pool's header for why).
 */
import { Worker } from 'node:worker_threads';
import type { Logger, ModelResult } from '../../daemon/ports.js';
import { disableOnnxTelemetry } from './telemetry.js';
import type { RunLayout, WorkerRequest } from './worker-protocol.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** How long closing waits for a session creation or a run in progress before it gives up on that worker. */
const NATIVE_DRAIN_MS = 30_000;
/** How long an idle worker gets to release its sessions and exit before it is terminated. */
const WORKER_CLOSE_GRACE_MS = 10_000;

export interface Job {
  id: number;
  key: number;
  input: Float32Array;
  rows: number;
  layout: RunLayout;
  /** Null once answered, which remove() may do before the worker is done with it. */
  settle: { resolve: (result: ModelResult) => void; reject: (error: unknown) => void } | null;
}

export type Op = { type: 'load'; key: number } | { type: 'unload'; key: number } | { type: 'run'; job: Job };

export interface Slot {
  index: number;
  worker: Worker | null;
  /**
   * starting: importing onnxruntime. idle: waiting for work. busy: handling `current` (native code for
   * load, unload and run). closing: alive but taking no more work. down: no thread.
   */
  state: 'starting' | 'idle' | 'busy' | 'closing' | 'down';
  /** Models whose session this thread holds. */
  sessions: Set<number>;
  /** Requests for this thread only (sessions to create or release); they go before runs. */
  ops: Op[];
  current: Op | null;
  /** Called when the worker leaves native code (request answered, thread gone). */
  nativeWaiters: (() => void)[];
  /** Called when the thread has exited. */
  exitWaiters: (() => void)[];
  lastError: unknown;
  failures: number;
  respawnTimer: NodeJS.Timeout | null;
}

export function newSlot(index: number): Slot {
  return {
    index,
    worker: null,
    state: 'down',
    sessions: new Set(),
    ops: [],
    current: null,
    nativeWaiters: [],
    exitWaiters: [],
    lastError: null,
    failures: 0,
    respawnTimer: null,
  };
}

/** Takes the job's callbacks, so it is answered once. */
export function answer(job: Job): Job['settle'] {
  const settle = job.settle;
  job.settle = null;
  return settle;
}

export function leftNative(slot: Slot): void {
  for (const wake of slot.nativeWaiters.splice(0)) wake();
}

/** Resolves when `slot` no longer holds `key`'s session (released, or the thread is gone). */
export function sessionReleased(slot: Slot, key: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      const pending =
        slot.ops.some((op) => op.type === 'unload' && op.key === key) ||
        (slot.current?.type === 'unload' && slot.current.key === key);
      if (slot.worker === null || !pending) resolve();
      else slot.nativeWaiters.push(check);
    };
    slot.nativeWaiters.push(check);
  });
}

/**
 * Lets the thread finish what it is doing in onnxruntime (bounded), then asks it to release its sessions
 * and exit, and terminates it only if it does not within a grace period.
 */
export async function closeThread(slot: Slot, worker: Worker, logger: Logger): Promise<void> {
  // Importing onnxruntime (dlopen) counts as native code too.
  const inNative = slot.state === 'starting' || slot.current !== null;
  slot.state = 'closing';
  slot.ops = [];
  const exited = new Promise<void>((resolve) => slot.exitWaiters.push(resolve));
  if (inNative) {
    const left = new Promise<void>((resolve) => slot.nativeWaiters.push(resolve));
    if (!(await settlesWithin(Promise.race([left, exited]), NATIVE_DRAIN_MS))) {
      logger.error(
        { worker: slot.index, waitedMs: NATIVE_DRAIN_MS },
        'model worker is still inside onnxruntime; leaving it (ending it now would abort the process)',
      );
      worker.unref();
      return;
    }
  }
  if (slot.worker !== worker) return;
  worker.postMessage({ type: 'close' } satisfies WorkerRequest);
  if (!(await settlesWithin(exited, WORKER_CLOSE_GRACE_MS))) await worker.terminate();
}

/** true if `promise` settles within `ms`; the timer never outlives the wait. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A new worker thread running adapters/onnx/worker.ts, with onnxruntime's telemetry off. */
export function startWorker(name: string): Worker {
  disableOnnxTelemetry();
  return new Worker(WORKER_URL, {
    name,
    // The worker is plain compiled JS. Inheriting the parent's --import/--loader hooks (test runners,
    // transpilers) made each worker start take seconds instead of milliseconds.
    execArgv: [],
  });
}
