/**
 * A fixed set of worker threads (adapters/onnx-worker.js), each holding its own ONNX Runtime session built
 * from the same verified model bytes. Runs go to an idle worker, input buffer transferred; when all are
 * busy they wait in a bounded FIFO. A worker that dies fails its run (retryable) and is respawned with
 * backoff; a pool with no worker left fails waiting runs instead of holding them.
 *
 * A worker is never terminated while it is inside onnxruntime (creating its session or running): with
 * onnxruntime-node 1.30, terminating the thread then makes the binding throw a C++ Napi::Error that
 * aborts the whole process (SIGABRT), and so does process.exit(). stop() therefore waits for in-flight
 * native work to finish before it lets workers go; the caller must await it before exiting.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCodes, ModelError } from '../daemon/errors.js';
import type { Logger, ModelResult } from '../daemon/ports.js';
import type { OnnxWorkerData, RunLayout, WorkerReply, WorkerRequest } from './onnx-worker-protocol.js';

const WORKER_URL = new URL('./onnx-worker.js', import.meta.url);
const WORKER_START_TIMEOUT_MS = 60_000;
/** How long stop() waits for a session creation or a run in progress before it gives up on that worker. */
const NATIVE_DRAIN_MS = 30_000;
/** How long an idle worker gets to release its session and exit before it is terminated. */
const WORKER_CLOSE_GRACE_MS = 10_000;
const RESPAWN_DELAYS_MS = [0, 250, 1_000, 5_000, 30_000];

export type WorkerReady = Extract<WorkerReply, { type: 'ready' }>;

export interface OnnxWorkerPoolOptions {
  /** The model name, for messages and thread names. */
  name: string;
  workers: number;
  intraOpThreads: number;
  modelBytes: Uint8Array;
  /** Runs that may wait for a worker; one more is refused (IG_ERR_MODEL_RUN, retryable). */
  queueLimit: number;
  logger: Logger;
}

interface Job {
  id: number;
  input: Float32Array;
  rows: number;
  layout: RunLayout;
  resolve: (result: ModelResult) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  index: number;
  worker: Worker | null;
  /**
   * starting: creating its session (native). busy: running `runningId` (native). idle: waiting for work.
   * closing: alive but taking no more work. down: no thread.
   */
  state: 'starting' | 'idle' | 'busy' | 'closing' | 'down';
  /** The caller waiting on the run; null once answered, which stop() may do before the worker is done. */
  job: Job | null;
  runningId: number | null;
  /** Called when the worker leaves native code (session created or refused, run answered, thread gone). */
  nativeWaiters: (() => void)[];
  onStarted: ((reply: WorkerReady) => void) | null;
  onStartFailed: ((error: ModelError) => void) | null;
  lastError: unknown;
  failures: number;
  respawnTimer: NodeJS.Timeout | null;
}

export class OnnxWorkerPool {
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextJobId = 1;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: OnnxWorkerPoolOptions) {}

  /** Starts every worker; resolves with the first one's session metadata, rejects if any fails to load. */
  async start(): Promise<WorkerReady> {
    if (this.state !== 'new')
      throw new ModelError(ErrorCodes.MODEL_LOAD, `${this.label}: pool already started`);
    this.state = 'starting';
    this.slots = Array.from({ length: this.options.workers }, (_, index) => newSlot(index));
    const readies = await Promise.all(this.slots.map((slot) => this.spawn(slot)));
    if (this.stopping !== null) throw this.closedError();
    this.state = 'running';
    return readies[0]!;
  }

  /** `input` (rows × width float32) is transferred to the worker unless it shares its buffer. */
  run(input: Float32Array, rows: number, layout: RunLayout): Promise<ModelResult> {
    if (this.state === 'stopped') return Promise.reject(this.closedError());
    if (!this.hasWorker()) return Promise.reject(this.noWorkerError());
    if (this.queue.length >= this.options.queueLimit) {
      return Promise.reject(
        new ModelError(ErrorCodes.MODEL_RUN, `${this.label}: run queue full (more runs than concurrency)`, {
          retryable: true,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextJobId++, input: transferable(input), rows, layout, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Idempotent. Answers waiting and running runs with IG_ERR_MODEL_CLOSED at once, then lets each worker
   * finish its native work, release its session and exit.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private get label(): string {
    return `model ${this.options.name}`;
  }

  private spawn(slot: Slot): Promise<WorkerReady> {
    const data: OnnxWorkerData = {
      modelBytes: this.options.modelBytes,
      intraOpThreads: this.options.intraOpThreads,
    };
    const worker = new Worker(WORKER_URL, {
      workerData: data,
      name: `onnx:${this.options.name}:${slot.index}`,
      // The worker is plain compiled JS. Inheriting the parent's --import/--loader hooks (test runners,
      // transpilers) made each worker start take seconds instead of milliseconds.
      execArgv: [],
    });
    slot.worker = worker;
    slot.state = 'starting';
    slot.lastError = null;
    const started = new Promise<WorkerReady>((resolve, reject) => {
      slot.onStarted = resolve;
      slot.onStartFailed = reject;
    });
    // Only the caller stops waiting: the thread is inside session creation and must not be terminated.
    const timer = setTimeout(() => {
      this.failStart(
        slot,
        new ModelError(ErrorCodes.MODEL_LOAD, `${this.label}: worker did not start in time`),
      );
    }, WORKER_START_TIMEOUT_MS);
    const clear = (): void => clearTimeout(timer);
    started.then(clear, clear);
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, worker, reply));
    worker.on('error', (error) => {
      if (slot.worker === worker) slot.lastError = error;
    });
    worker.on('messageerror', (error) => {
      // A reply could not be read; the worker sent it, so it is out of native code and safe to end.
      if (slot.worker !== worker) return;
      slot.lastError = error;
      void worker.terminate();
    });
    worker.on('exit', (code) => this.onExit(slot, worker, code));
    return started;
  }

  private onReply(slot: Slot, worker: Worker, reply: WorkerReply): void {
    if (slot.worker !== worker) return;
    switch (reply.type) {
      case 'ready': {
        slot.state = this.state === 'stopped' ? 'closing' : 'idle';
        slot.failures = 0;
        const resolve = slot.onStarted;
        slot.onStarted = slot.onStartFailed = null;
        leftNative(slot);
        resolve?.(reply);
        this.dispatch();
        return;
      }
      case 'loadFailed': {
        const message = `${this.label}: onnxruntime refused the model: ${reply.error.message}`;
        const error = new ModelError(ErrorCodes.MODEL_LOAD, message, { cause: reply.error });
        slot.state = 'closing';
        slot.lastError = error;
        leftNative(slot);
        this.failStart(slot, error);
        worker.postMessage({ type: 'close' } satisfies WorkerRequest);
        return;
      }
      case 'result':
      case 'runFailed': {
        if (slot.runningId !== reply.id) return;
        slot.runningId = null;
        slot.state = this.state === 'stopped' ? 'closing' : 'idle';
        leftNative(slot);
        const job = slot.job;
        slot.job = null;
        if (reply.type === 'result') {
          job?.resolve({ outputs: reply.outputs, inferenceMs: reply.inferenceMs });
        } else {
          const message = `${this.label}: inference failed: ${reply.error.message}`;
          job?.reject(new ModelError(ErrorCodes.MODEL_RUN, message, { cause: reply.error }));
        }
        this.dispatch();
        return;
      }
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const wasStarting = slot.state === 'starting';
    slot.state = 'down';
    slot.runningId = null;
    leftNative(slot);
    if (this.state === 'stopped') {
      this.failStart(slot, this.closedError());
      return;
    }
    const cause = slot.lastError ?? new Error(`worker exited with code ${code}`);
    this.options.logger.error({ err: cause, worker: slot.index, code }, 'model worker exited');
    const job = slot.job;
    slot.job = null;
    job?.reject(
      new ModelError(ErrorCodes.MODEL_RUN, `${this.label}: the inference worker died during the run`, {
        retryable: true,
        cause,
      }),
    );
    if (wasStarting) {
      this.failStart(
        slot,
        new ModelError(ErrorCodes.MODEL_LOAD, `${this.label}: worker failed to start`, { cause }),
      );
    }
    // During start() a failed worker fails the whole start; once running, the slot comes back on its own.
    if (this.state === 'running') this.scheduleRespawn(slot);
    this.dispatch();
  }

  private failStart(slot: Slot, error: ModelError): void {
    const reject = slot.onStartFailed;
    slot.onStarted = slot.onStartFailed = null;
    reject?.(error);
  }

  /**
   * The first respawn after a healthy run starts at once, so runs arriving meanwhile wait for it; a worker
   * that keeps dying is retried with growing delays, during which runs fail fast (retryable).
   */
  private scheduleRespawn(slot: Slot): void {
    if (slot.respawnTimer !== null) return;
    const delay = RESPAWN_DELAYS_MS[Math.min(slot.failures, RESPAWN_DELAYS_MS.length - 1)]!;
    slot.failures++;
    const respawn = (): void => {
      slot.respawnTimer = null;
      if (this.state !== 'running') return;
      // A failed start ends in the worker's exit, and onExit schedules the next attempt.
      this.spawn(slot).then(
        () => this.options.logger.info({ worker: slot.index }, 'model worker respawned'),
        () => undefined,
      );
    };
    if (delay === 0) respawn();
    else slot.respawnTimer = setTimeout(respawn, delay);
  }

  private dispatch(): void {
    if (this.state === 'stopped') return;
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.state !== 'idle' || slot.worker === null) continue;
      const job = this.queue.shift()!;
      slot.state = 'busy';
      slot.job = job;
      slot.runningId = job.id;
      const { id, input, rows, layout } = job;
      const request: WorkerRequest = { type: 'run', id, input, rows, layout };
      slot.worker.postMessage(request, [input.buffer as ArrayBuffer]);
    }
    if (this.queue.length > 0 && !this.hasWorker()) {
      for (const job of this.queue.splice(0)) job.reject(this.noWorkerError());
    }
  }

  private hasWorker(): boolean {
    return this.slots.some(
      (slot) => slot.state === 'starting' || slot.state === 'idle' || slot.state === 'busy',
    );
  }

  private async stopOnce(): Promise<void> {
    this.state = 'stopped';
    const closed = this.closedError();
    for (const job of this.queue.splice(0)) job.reject(closed);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.respawnTimer !== null) clearTimeout(slot.respawnTimer);
        slot.respawnTimer = null;
        slot.job?.reject(closed);
        slot.job = null;
        this.failStart(slot, closed);
        if (slot.state === 'idle') slot.state = 'closing';
        if (slot.worker !== null) await this.closeWorker(slot, slot.worker);
      }),
    );
  }

  private async closeWorker(slot: Slot, worker: Worker): Promise<void> {
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (slot.state === 'starting' || slot.state === 'busy') {
      const left = new Promise<void>((resolve) => slot.nativeWaiters.push(resolve));
      if (!(await settlesWithin(Promise.race([left, exited]), NATIVE_DRAIN_MS))) {
        this.options.logger.error(
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

  private closedError(): ModelError {
    return new ModelError(ErrorCodes.MODEL_CLOSED, `${this.label} is closed`);
  }

  private noWorkerError(): ModelError {
    return new ModelError(ErrorCodes.MODEL_RUN, `${this.label}: no inference worker is running`, {
      retryable: true,
    });
  }
}

function newSlot(index: number): Slot {
  return {
    index,
    worker: null,
    state: 'down',
    job: null,
    runningId: null,
    nativeWaiters: [],
    onStarted: null,
    onStartFailed: null,
    lastError: null,
    failures: 0,
    respawnTimer: null,
  };
}

function leftNative(slot: Slot): void {
  for (const wake of slot.nativeWaiters.splice(0)) wake();
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

/** The buffer goes to the worker; copy first if it is shared or also holds someone else's data. */
function transferable(input: Float32Array): Float32Array {
  const whole = input.byteOffset === 0 && input.buffer.byteLength === input.byteLength;
  return whole && input.buffer instanceof ArrayBuffer ? input : input.slice();
}
