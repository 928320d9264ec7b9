/**
 * Worker threads (adapters/onnx/worker.js) that hold the ONNX Runtime sessions of one or more models. A
 * model added with `workers: n` gets a session, built from its verified bytes, on each of the first n
 * threads; the pool runs as many threads as its largest model needs, so models share threads instead of
 * each bringing its own (every thread is a V8 isolate, and costs more memory than a small model's
 * session). Runs go, in FIFO order, to an idle thread holding their model's session, input buffer
 * transferred; when none is idle they wait in a queue bounded per model. A thread that dies fails its run
 * (retryable) and is respawned with backoff and its sessions rebuilt; a model with no thread left fails
 * waiting runs instead of holding them. Threads no model needs any more are closed.
 *
 * A worker is never terminated while it is inside onnxruntime (creating, running or releasing a session):
 * with onnxruntime-node 1.30, terminating the thread then makes the binding throw a C++ Napi::Error that
 * aborts the whole process (SIGABRT), and so does process.exit(). remove() therefore waits for in-flight
 * native work to finish before it lets threads go; the caller must await it before exiting.
 */
import type { Worker } from 'node:worker_threads';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { Logger, ModelResult } from '../../daemon/ports.js';
import type { RunLayout, SessionMetadata, WorkerReply, WorkerRequest } from './worker-protocol.js';

import {
  closedError,
  entryLabel,
  failLoad,
  newEntry,
  noWorkerError,
  transferable,
  type Entry,
  type PooledModel,
  type PooledModelSpec,
} from './pool-entry.js';
import {
  answer,
  closeThread,
  leftNative,
  newSlot,
  sessionReleased,
  startWorker,
  type Job,
  type Op,
  type Slot,
} from './worker-slot.js';

export type { PooledModel, PooledModelSpec };

/** How long a model's sessions may take to be created on all its threads, ms. */
const LOAD_TIMEOUT_MS = 60_000;
const RESPAWN_DELAYS_MS = [0, 250, 1_000, 5_000, 30_000];

export interface OnnxWorkerPoolOptions {
  /** For messages and thread names. */
  name: string;
  logger: Logger;
}

export class OnnxWorkerPool {
  private readonly entries = new Map<number, Entry>();
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  /** remove() in progress, by key, so a second call waits for the same release. */
  private readonly removals = new Map<number, Promise<void>>();
  private nextKey = 1;
  private nextJobId = 1;

  constructor(private readonly options: OnnxWorkerPoolOptions) {}

  /** Threads alive or being started (for tests and metrics). */
  get threads(): number {
    return this.slots.filter((slot) => slot.worker !== null).length;
  }

  /** Starts creating the model's sessions, spawning threads as needed. */
  add(spec: PooledModelSpec): PooledModel {
    const key = this.nextKey++;
    const { entry, loaded } = newEntry(key, spec);
    // Only the caller stops waiting: the thread is inside session creation and must not be terminated.
    entry.timer = setTimeout(() => {
      failLoad(entry, new ModelError(ErrorCodes.MODEL_LOAD, `${entryLabel(entry)}: did not load in time`));
      void this.remove(key);
    }, LOAD_TIMEOUT_MS);
    this.entries.set(key, entry);
    for (let index = 0; index < spec.workers; index++) {
      const slot = this.slotAt(index);
      if (slot.worker === null && slot.respawnTimer === null) this.spawn(slot);
      else slot.ops.push({ type: 'load', key });
    }
    this.dispatch();
    return { key, loaded };
  }

  /** `input` (rows × width float32) is transferred to the worker unless it shares its buffer. */
  run(key: number, input: Float32Array, rows: number, layout: RunLayout): Promise<ModelResult> {
    const entry = this.entries.get(key);
    if (entry === undefined) return Promise.reject(closedError(`model #${key}`));
    if (entry.state !== 'ready') {
      return Promise.reject(
        new ModelError(ErrorCodes.MODEL_RUN, `${entryLabel(entry)}: run() before it loaded`),
      );
    }
    if (!this.hasWorker(entry)) return Promise.reject(noWorkerError(entry));
    if (entry.queued >= entry.spec.queueLimit) {
      return Promise.reject(
        new ModelError(
          ErrorCodes.MODEL_RUN,
          `${entryLabel(entry)}: run queue full (more runs than concurrency)`,
          {
            retryable: true,
          },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      entry.queued++;
      const id = this.nextJobId++;
      this.queue.push({ id, key, input: transferable(input), rows, layout, settle: { resolve, reject } });
      this.dispatch();
    });
  }

  /**
   * Idempotent. Answers the model's waiting and running runs with IG_ERR_MODEL_CLOSED at once, then lets
   * each of its threads finish its native work and release the session; a thread no model needs any more
   * exits. Resolves when that is done.
   */
  remove(key: number): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return this.removals.get(key) ?? Promise.resolve();
    const removal = this.removeEntry(entry).finally(() => this.removals.delete(key));
    this.removals.set(key, removal);
    return removal;
  }

  private async removeEntry(entry: Entry): Promise<void> {
    const key = entry.key;
    this.entries.delete(key);
    const closed = closedError(entryLabel(entry));
    if (entry.state === 'loading') failLoad(entry, closed);
    entry.state = 'removed';
    for (const job of this.queue.filter((job) => job.key === key)) {
      this.queue.splice(this.queue.indexOf(job), 1);
      answer(job)?.reject(closed);
    }
    entry.queued = 0;
    const released: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.current?.type === 'run' && slot.current.job.key === key)
        answer(slot.current.job)?.reject(closed);
      slot.ops = slot.ops.filter((op) => !(op.type === 'load' && op.key === key));
      if (this.needed(slot)) {
        const loading = slot.current?.type === 'load' && slot.current.key === key;
        if (slot.sessions.has(key) || loading) {
          slot.ops.push({ type: 'unload', key });
          released.push(sessionReleased(slot, key));
        }
      } else {
        this.cancelRespawn(slot);
        if (slot.worker !== null) released.push(closeThread(slot, slot.worker, this.options.logger));
      }
    }
    this.dispatch();
    await Promise.all(released);
  }

  private get label(): string {
    return `onnx pool ${this.options.name}`;
  }

  private slotAt(index: number): Slot {
    while (this.slots.length <= index) this.slots.push(newSlot(this.slots.length));
    return this.slots[index]!;
  }

  /** A thread is needed while some model runs on it. */
  private needed(slot: Slot): boolean {
    for (const entry of this.entries.values()) if (slot.index < entry.spec.workers) return true;
    return false;
  }

  /** A new thread gets a session of every model that runs on it, in the order the models were added. */
  private spawn(slot: Slot): void {
    const worker = startWorker(`onnx:${this.options.name}:${slot.index}`);
    slot.worker = worker;
    slot.state = 'starting';
    slot.lastError = null;
    slot.sessions.clear();
    slot.current = null;
    slot.ops = [...this.entries.values()]
      .filter((entry) => slot.index < entry.spec.workers)
      .map((entry): Op => ({ type: 'load', key: entry.key }));
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
  }

  private onReply(slot: Slot, worker: Worker, reply: WorkerReply): void {
    if (slot.worker !== worker) return;
    if (reply.type === 'up') {
      if (slot.state === 'starting') slot.state = 'idle';
      leftNative(slot);
      this.dispatch();
      return;
    }
    const op = slot.current;
    slot.current = null;
    if (slot.state === 'busy') slot.state = 'idle';
    leftNative(slot);
    switch (reply.type) {
      case 'loaded': {
        slot.sessions.add(reply.key);
        // Healthy once every session it was started with is back: a thread that loads some models and
        // then fails on another must keep its backoff, or it would be respawned at once, forever.
        if (!slot.ops.some((next) => next.type === 'load')) slot.failures = 0;
        const { inputs, outputs, runtimeVersion } = reply;
        this.onLoaded(slot, reply.key, { inputs, outputs, runtimeVersion });
        break;
      }
      case 'loadFailed':
        this.onLoadFailed(slot, worker, reply.key, reply.error);
        break;
      case 'unloaded':
        slot.sessions.delete(reply.key);
        break;
      case 'result':
      case 'runFailed': {
        if (op?.type !== 'run' || op.job.id !== reply.id) break;
        const settle = answer(op.job);
        if (reply.type === 'result') {
          settle?.resolve({ outputs: reply.outputs, inferenceMs: reply.inferenceMs });
        } else {
          const entry = this.entries.get(op.job.key);
          const message = `${entry ? entryLabel(entry) : this.label}: inference failed: ${reply.error.message}`;
          settle?.reject(new ModelError(ErrorCodes.MODEL_RUN, message, { cause: reply.error }));
        }
        break;
      }
    }
    this.dispatch();
  }

  private onLoaded(slot: Slot, key: number, metadata: SessionMetadata): void {
    // A model removed while its session was being created has its unload queued already.
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.metadata ??= metadata;
    entry.pending.delete(slot.index);
    if (entry.state === 'loading' && entry.pending.size === 0) {
      entry.state = 'ready';
      if (entry.timer !== null) clearTimeout(entry.timer);
      entry.resolve(entry.metadata);
    }
  }

  private onLoadFailed(slot: Slot, worker: Worker, key: number, cause: { message: string }): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    const message = `${entryLabel(entry)}: onnxruntime refused the model: ${cause.message}`;
    const error = new ModelError(ErrorCodes.MODEL_LOAD, message, { cause });
    if (entry.state === 'loading') {
      // The model is refused; the thread and the other models on it are fine.
      failLoad(entry, error);
      void this.remove(key);
      return;
    }
    // A session that loaded before failed to come back on a respawned thread: retry with backoff.
    slot.lastError = error;
    slot.state = 'closing';
    worker.postMessage({ type: 'close' } satisfies WorkerRequest);
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    const op = slot.current;
    const intended = slot.state === 'closing' && slot.lastError === null;
    slot.worker = null;
    slot.state = 'down';
    slot.current = null;
    slot.sessions.clear();
    leftNative(slot);
    for (const wake of slot.exitWaiters.splice(0)) wake();
    const needed = this.needed(slot);
    if (intended || !needed) {
      slot.ops = [];
      slot.failures = 0;
      // Closed because no model needed it, but one was added meanwhile: start it again.
      if (needed) this.spawn(slot);
      this.dispatch();
      return;
    }
    const cause = slot.lastError ?? new Error(`worker exited with code ${code}`);
    const models = [...this.entries.values()]
      .filter((e) => slot.index < e.spec.workers)
      .map((e) => e.spec.name);
    this.options.logger.error({ err: cause, worker: slot.index, models, code }, 'model worker exited');
    if (op?.type === 'run') {
      const entry = this.entries.get(op.job.key);
      answer(op.job)?.reject(
        new ModelError(
          ErrorCodes.MODEL_RUN,
          `${entry ? entryLabel(entry) : this.label}: the inference worker died during the run`,
          { retryable: true, cause },
        ),
      );
    }
    // A model still loading fails as a whole; models already running get the thread back on its own.
    for (const entry of [...this.entries.values()]) {
      if (entry.state === 'loading' && entry.pending.has(slot.index)) {
        const error = new ModelError(ErrorCodes.MODEL_LOAD, `${entryLabel(entry)}: worker failed to start`, {
          cause,
        });
        failLoad(entry, error);
        void this.remove(entry.key);
      }
    }
    if (this.needed(slot)) this.scheduleRespawn(slot);
    this.dispatch();
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
      if (!this.needed(slot) || slot.worker !== null) return;
      this.spawn(slot);
      this.options.logger.info({ worker: slot.index }, 'model worker respawned');
      this.dispatch();
    };
    if (delay === 0) respawn();
    else slot.respawnTimer = setTimeout(respawn, delay);
  }

  private cancelRespawn(slot: Slot): void {
    if (slot.respawnTimer !== null) clearTimeout(slot.respawnTimer);
    slot.respawnTimer = null;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.state !== 'idle' || slot.worker === null) continue;
      const op = slot.ops.shift() ?? this.takeRun(slot);
      if (op === undefined) continue;
      slot.state = 'busy';
      slot.current = op;
      if (op.type === 'run') {
        const { id, key, input, rows, layout } = op.job;
        const request: WorkerRequest = { type: 'run', id, key, input, rows, layout };
        slot.worker.postMessage(request, [input.buffer as ArrayBuffer]);
      } else if (op.type === 'load') {
        const { modelBytes, intraOpThreads } = this.entries.get(op.key)!.spec;
        slot.worker.postMessage({
          type: 'load',
          key: op.key,
          modelBytes,
          intraOpThreads,
        } satisfies WorkerRequest);
      } else {
        slot.worker.postMessage({ type: 'unload', key: op.key } satisfies WorkerRequest);
      }
    }
    for (const job of this.queue.filter((job) => !this.hasWorker(this.entries.get(job.key)!))) {
      this.queue.splice(this.queue.indexOf(job), 1);
      const entry = this.entries.get(job.key)!;
      entry.queued--;
      answer(job)?.reject(noWorkerError(entry));
    }
  }

  /** The oldest waiting run this thread holds a session for. */
  private takeRun(slot: Slot): Op | undefined {
    const index = this.queue.findIndex((job) => slot.sessions.has(job.key));
    if (index < 0) return undefined;
    const job = this.queue.splice(index, 1)[0]!;
    this.entries.get(job.key)!.queued--;
    return { type: 'run', job };
  }

  private hasWorker(entry: Entry): boolean {
    return this.slots.some(
      (slot) =>
        slot.index < entry.spec.workers &&
        (slot.state === 'starting' || slot.state === 'idle' || slot.state === 'busy'),
    );
  }
}
