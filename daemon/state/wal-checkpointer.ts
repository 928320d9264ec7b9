import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the thread folds the WAL back into the database file while it grows, ms. */
export const CHECKPOINT_INTERVAL_MS = 250;
/**
 * Longest pause between passes once the WAL has stopped changing, ms. An idle gateway writes nothing, and a
 * pass every 250 ms was 4 of its wake-ups per second. After IDLE_PASSES_BEFORE_BACKOFF passes that found
 * nothing new the pause doubles up to this; the first pass that finds new frames brings it back to
 * CHECKPOINT_INTERVAL_MS. So after a quiet spell, the first frames of a new stream wait at most this long
 * for a checkpoint (the WAL restart and the writer's safety net are sized in thousands of frames).
 */
export const IDLE_CHECKPOINT_INTERVAL_MS = 2000;
/** Unchanged passes (~1 s at the base interval) before the pause starts to grow, so a short lull keeps it. */
const IDLE_PASSES_BEFORE_BACKOFF = 4;
/** How long stop() waits for the last checkpoint before it ends the thread, ms. */
const STOP_GRACE_MS = 2000;

/** What one `wal_checkpoint(PASSIVE)` found, in 4 KiB frames. */
export interface CheckpointPass {
  /** Frames in the WAL (its length since the last restart). */
  walFrames: number;
  /** Frames of it now copied into the database file. */
  checkpointed: number;
}

export interface WalCheckpointerOptions {
  file: string;
  intervalMs?: number;
  /** Longest pause once the WAL stopped changing, ms (IDLE_CHECKPOINT_INTERVAL_MS). */
  idleIntervalMs?: number;
  /** Told after each periodic pass (from the main thread's event loop). */
  onPass?: (pass: CheckpointPass) => void;
  /**
   * Told once when the WAL has not changed for `quietMs` (again after it changed and went quiet anew):
   * the owner may then stop the thread (see WalRestarter). Never told without `quietMs`.
   */
  onQuiet?: () => void;
  quietMs?: number;
}

/**
 * Runs SQLite WAL checkpoints on a worker thread with its own connection. A checkpoint copies pages and
 * fsyncs the WAL and the database file: done by the writer on the main thread, it held up acks and deadline
 * timers (bench/README.md has the figures). The thread copies frames while the writer goes on appending;
 * restarting the WAL from its beginning needs a moment with nothing new in it, which the inbox arranges
 * with `passNow()` (see WalRestarter in wal-restarter.ts).
 *
 * The thread is a V8 isolate of its own, with its own memory. Sharing the ONNX inference thread instead
 * would save that, but every checkpoint's fsync would then hold up the inferences queued behind it.
 */
export class WalCheckpointer {
  private readonly file: string;
  private readonly intervalMs: number;
  private readonly idleIntervalMs: number;
  private readonly onPass: (pass: CheckpointPass) => void;
  private readonly onQuiet: () => void;
  private readonly quietMs: number | null;
  private readonly waiting = new Map<number, (pass: CheckpointPass | undefined) => void>();
  private nextRequest = 1;
  private worker: Worker | undefined;

  constructor(options: WalCheckpointerOptions) {
    this.file = options.file;
    this.intervalMs = options.intervalMs ?? CHECKPOINT_INTERVAL_MS;
    this.idleIntervalMs = options.idleIntervalMs ?? IDLE_CHECKPOINT_INTERVAL_MS;
    this.onPass = options.onPass ?? (() => undefined);
    this.onQuiet = options.onQuiet ?? (() => undefined);
    this.quietMs = options.quietMs ?? null;
  }

  start(): void {
    if (this.worker !== undefined) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // An eval'd worker resolves require() from the process's working directory, which under systemd
      // is `/`: better-sqlite3 then was not found, the thread died at once and no checkpoint ever ran.
      workerData: {
        file: this.file,
        intervalMs: this.intervalMs,
        idleIntervalMs: Math.max(this.intervalMs, this.idleIntervalMs),
        idlePasses: IDLE_PASSES_BEFORE_BACKOFF,
        quietMs: this.quietMs,
        sqlite: sqliteModulePath(),
      },
      execArgv: [],
    });
    worker.unref();
    worker.on('message', (message: WorkerMessage) => this.onMessage(message));
    // A failed checkpoint only lets the WAL grow until the next one; it must never take the daemon down.
    worker.on('error', () => this.answerAll());
    worker.on('exit', () => this.answerAll());
    this.worker = worker;
  }

  /**
   * Runs one pass now and resolves with what it found; with `undefined` when the thread is gone or does not
   * answer within `timeoutMs` (the caller must not wait on a stuck disk for long).
   */
  passNow(timeoutMs: number): Promise<CheckpointPass | undefined> {
    const worker = this.worker;
    if (worker === undefined) return Promise.resolve(undefined);
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(undefined), timeoutMs);
      const answer = (pass: CheckpointPass | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(pass);
      };
      this.waiting.set(id, answer);
      worker.postMessage({ type: 'now', id });
    });
  }

  /** Stops the worker after one last checkpoint. Idempotent. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    this.answerAll();
    // Keeps the process alive for the last checkpoint, which an otherwise idle process would cut short.
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'stop' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())]);
    await worker.terminate();
  }

  private onMessage(message: WorkerMessage): void {
    const pass = message.pass ?? undefined;
    if (message.type === 'now') {
      this.waiting.get(message.id)?.(pass);
    } else if (message.type === 'quiet') {
      this.onQuiet();
    } else if (pass !== undefined) {
      this.onPass(pass);
    }
  }

  private answerAll(): void {
    for (const answer of [...this.waiting.values()]) answer(undefined);
  }
}

interface WorkerMessage {
  type: 'pass' | 'now' | 'quiet';
  id: number;
  /** Null when the checkpoint failed (busy disk, closed database): nothing is known of the WAL then. */
  pass: CheckpointPass | null;
}

/** better-sqlite3 as this package resolves it, whatever the working directory. */
function sqliteModulePath(): string {
  return createRequire(import.meta.url).resolve('better-sqlite3');
}

// A periodic pass is reported only when it found something new, so an idle gateway's main thread sleeps;
// passes that keep finding nothing come further apart (IDLE_CHECKPOINT_INTERVAL_MS), so the thread sleeps too.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
// Checkpoints read pages once and copy them; they need no cache beyond SQLite's minimum.
db.pragma('cache_size = -1024');
const pass = () => {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    return { walFrames: row.log, checkpointed: row.checkpointed };
  } catch {
    return null;
  }
};
let last = { walFrames: 0, checkpointed: 0 };
let unchanged = 0;
let changedAt = performance.now();
let quietTold = false;
let timer;
const schedule = () => {
  const doublings = Math.max(0, unchanged - workerData.idlePasses);
  const pause = Math.min(workerData.idleIntervalMs, workerData.intervalMs * 2 ** Math.min(doublings, 20));
  timer = setTimeout(periodic, pause);
};
const periodic = () => {
  const result = pass();
  if (result !== null && (result.walFrames !== last.walFrames || result.checkpointed !== last.checkpointed)) {
    unchanged = 0;
    changedAt = performance.now();
    quietTold = false;
    last = result;
    parentPort.postMessage({ type: 'pass', id: 0, pass: result });
  } else {
    unchanged += 1;
    if (workerData.quietMs !== null && !quietTold && performance.now() - changedAt >= workerData.quietMs) {
      quietTold = true;
      parentPort.postMessage({ type: 'quiet', id: 0, pass: null });
    }
  }
  schedule();
};
schedule();
parentPort.on('message', (message) => {
  if (message.type === 'now') {
    parentPort.postMessage({ type: 'now', id: message.id, pass: pass() });
    return;
  }
  clearTimeout(timer);
  pass();
  db.close();
  process.exit(0);
});
`;
