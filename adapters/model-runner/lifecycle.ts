/**
 * The load/dispose lifecycle every runtime adapter's ModelRunner shares: load once (a second call gets the
 * same promise), `info` throws until the load resolved, a failed load disposes the runner, dispose is
 * idempotent and cuts a load under way short, and runs still going when it is called end with
 * IG_ERR_MODEL_CLOSED before the runtime's resources are released.
 */
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { Logger, ModelInfo } from '../../daemon/ports.js';

export interface ModelLifecycleSteps {
  /** Everything load() does; it calls `throwIfDisposed()` after each await. */
  load(): Promise<ModelInfo>;
  /**
   * Dispose began (the signal is aborted with `closed`): answer waiting and running runs with `closed` and
   * start ending whatever the load is waiting for. Synchronous; the waiting comes after.
   */
  close(closed: ModelError): void;
  /** Frees what load() acquired, once the load and the tracked runs settled. Safe to call on a partial load. */
  release(): Promise<void>;
}

export type ModelLifecycleState = 'new' | 'loading' | 'ready' | 'disposed';

export class ModelLifecycle {
  /** Aborted with IG_ERR_MODEL_CLOSED when dispose begins; runtimes that take a signal get this one. */
  readonly signal: AbortSignal;
  private readonly label: string;
  private readonly logger: Logger;
  private readonly steps: ModelLifecycleSteps;
  private readonly closing: AbortController;
  private readonly inflight: Set<Promise<unknown>>;
  private current: ModelLifecycleState;
  private loaded: ModelInfo | null;
  private loading: Promise<ModelInfo> | null;
  private disposing: Promise<void> | null;

  /** `label`: `model <name>`, for messages. */
  constructor(label: string, logger: Logger, steps: ModelLifecycleSteps, closing: AbortController) {
    this.label = label;
    this.logger = logger;
    this.steps = steps;
    this.closing = closing;
    this.signal = closing.signal;
    this.inflight = new Set();
    this.current = 'new';
    this.loaded = null;
    this.loading = null;
    this.disposing = null;
  }

  get state(): ModelLifecycleState {
    return this.current;
  }

  /** The loaded model's info; stays readable after dispose. IG_ERR_MODEL_LOAD before the load resolved. */
  get info(): ModelInfo {
    if (this.loaded === null) throw new ModelError(ErrorCodes.MODEL_LOAD, `${this.label} is not loaded yet`);
    return this.loaded;
  }

  load(): Promise<ModelInfo> {
    this.loading ??= this.loadOnce();
    return this.loading;
  }

  dispose(): Promise<void> {
    this.disposing ??= this.disposeOnce(true);
    return this.disposing;
  }

  /** Why a run cannot start now (closed, or not loaded yet), or null when it can. */
  refusal(): ModelError | null {
    if (this.current === 'ready') return null;
    if (this.current === 'disposed') return this.closedError();
    return new ModelError(ErrorCodes.MODEL_RUN, `${this.label}: run() before load() resolved`);
  }

  /** A run dispose waits for (after `close`) before it releases the runtime. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work)).catch(() => undefined);
    return work;
  }

  throwIfDisposed(): void {
    if (this.current === 'disposed') throw this.closedError();
  }

  closedError(): ModelError {
    return new ModelError(ErrorCodes.MODEL_CLOSED, `${this.label} is closed`);
  }

  private async loadOnce(): Promise<ModelInfo> {
    this.throwIfDisposed();
    this.current = 'loading';
    try {
      const info = await this.steps.load();
      this.throwIfDisposed();
      this.loaded = info;
      this.current = 'ready';
      return info;
    } catch (error) {
      // A failed load disposes; a dispose already under way waits for this load and releases after it.
      if (this.disposing === null) {
        this.disposing = this.disposeOnce(false);
        await this.disposing;
      }
      throw error;
    }
  }

  private async disposeOnce(waitForLoad: boolean): Promise<void> {
    this.current = 'disposed';
    const closed = this.closedError();
    this.closing.abort(closed);
    this.steps.close(closed);
    // Load steps and runs notice the abort at their next step.
    if (waitForLoad) await this.loading?.catch(() => undefined);
    await Promise.allSettled([...this.inflight]);
    await this.steps.release();
    this.logger.debug('model disposed');
  }
}
