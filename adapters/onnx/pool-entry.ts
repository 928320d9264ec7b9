/**
 * A model in the ONNX worker pool as the pool sees it: its spec, its load state (a promise the caller
 * waits on) and its queued runs, and the errors the pool answers its runs with.
 */
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { SessionMetadata } from './worker-protocol.js';

export interface PooledModelSpec {
  /** The model name, for messages. */
  name: string;
  /** Threads holding a session of this model: runs of it that may execute at once. */
  workers: number;
  intraOpThreads: number;
  modelBytes: Uint8Array;
  /** Runs that may wait for a thread; one more is refused (IG_ERR_MODEL_RUN, retryable). */
  queueLimit: number;
}

export interface PooledModel {
  /** Identifies the model in run() and remove(). */
  readonly key: number;
  /** Resolves once every one of its threads holds a session; rejects (and removes it) if one cannot. */
  readonly loaded: Promise<SessionMetadata>;
}

export interface Entry {
  key: number;
  spec: PooledModelSpec;
  state: 'loading' | 'ready' | 'removed';
  /** Threads that still have to confirm a session while loading. */
  pending: Set<number>;
  metadata: SessionMetadata | null;
  resolve: (metadata: SessionMetadata) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | null;
  /** Runs waiting in the queue. */
  queued: number;
}

/** A new entry in state `loading`, expecting a session on each of its first `spec.workers` threads. */
export function newEntry(
  key: number,
  spec: PooledModelSpec,
): { entry: Entry; loaded: Promise<SessionMetadata> } {
  let resolve!: Entry['resolve'];
  let reject!: Entry['reject'];
  const loaded = new Promise<SessionMetadata>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const entry: Entry = {
    key,
    spec,
    state: 'loading',
    pending: new Set(Array.from({ length: spec.workers }, (_, index) => index)),
    metadata: null,
    resolve,
    reject,
    timer: null,
    queued: 0,
  };
  return { entry, loaded };
}

/** Ends a load still in progress with `error` (the entry counts as removed); no-op otherwise. */
export function failLoad(entry: Entry, error: unknown): void {
  if (entry.timer !== null) clearTimeout(entry.timer);
  entry.timer = null;
  if (entry.state !== 'loading') return;
  entry.state = 'removed';
  entry.reject(error);
}

export function entryLabel(entry: Entry): string {
  return `model ${entry.spec.name}`;
}

export function closedError(what: string): ModelError {
  return new ModelError(ErrorCodes.MODEL_CLOSED, `${what} is closed`);
}

export function noWorkerError(entry: Entry): ModelError {
  return new ModelError(ErrorCodes.MODEL_RUN, `${entryLabel(entry)}: no inference worker is running`, {
    retryable: true,
  });
}

/** The buffer goes to the worker; copy first if it is shared or also holds someone else's data. */
export function transferable(input: Float32Array): Float32Array {
  const whole = input.byteOffset === 0 && input.buffer.byteLength === input.byteLength;
  return whole && input.buffer instanceof ArrayBuffer ? input : input.slice();
}
