import type { GroupCommit } from './group-commit.js';
import { whenWritten } from './wal-activity.js';
import { WalCheckpointer, type CheckpointPass } from './wal-checkpointer.js';
import type { WriteGate } from './write-gate.js';

/** WAL length, in 4 KiB frames (so ~32 MiB), past which the WAL is restarted (see WalRestarter). */
export const WAL_RESTART_FRAMES = 8_000;
/** Longest the inbox holds its writes for a WAL restart, ms; past it, writes go on and it tries again later. */
const WAL_RESTART_HOLD_MS = 100;
/**
 * A safety net, not the way the WAL is kept short: if the checkpointer thread cannot restart it (dead, or a
 * long read by an audit tool), the writer checkpoints itself at this length (4 KiB frames, so ~160 MiB), on
 * the event loop.
 */
export const WRITER_CHECKPOINT_FRAMES = 40_000;
/**
 * The checkpoint thread ends after the WAL has not changed for this long, ms, and starts again at the next
 * write. Long enough that a trickle of events does not start and end a thread each time.
 */
export const WAL_THREAD_QUIET_MS = 30_000;

export interface WalRestarterDeps {
  /** The state database file. */
  file: string;
  /** Held while the restart needs a moment with no new frames. */
  gate: WriteGate;
  /** The writer's transactions: what it holds is committed before the hold. */
  commits: GroupCommit;
  /** Told after each restart attempt: how long writes were held, ms, and whether the WAL restarted. */
  onWalRestart: (heldMs: number, restarted: boolean) => void;
  /** WAL_THREAD_QUIET_MS but for tests. */
  quietMs?: number;
}

/**
 * Keeps the WAL short however steady the stream: runs the checkpoint thread and restarts the WAL from its
 * beginning once it is WAL_RESTART_FRAMES long.
 *
 * Only the writer can restart the WAL, and only in a transaction that starts when every frame has been
 * copied into the database file; under a steady stream that moment never comes by itself (frames arrive
 * while the thread copies), and the WAL grew without bound, its index mapped into memory. The thread has
 * copied nearly everything by the time the WAL is long: the writer commits what it holds, takes no new
 * writes while the thread copies the last frames (two fsyncs included), and its next transaction then
 * starts the WAL over. The event loop stays free meanwhile: MQTT traffic, timers and inference go on, and
 * only writers wait.
 *
 * The thread runs only while the WAL is written: it starts at the first write and ends after
 * WAL_THREAD_QUIET_MS without one. Its isolate and connection were ~10 MiB of an idle gateway's RSS
 * (bench/README.md), and a thread with nothing to copy only woke up to find that out.
 */
export class WalRestarter {
  private readonly gate: WriteGate;
  private readonly commits: GroupCommit;
  private readonly onWalRestart: (heldMs: number, restarted: boolean) => void;
  private readonly file: string;
  private readonly quietMs: number;
  private checkpointer: WalCheckpointer | undefined;
  /** A thread that went quiet, ending. */
  private retiring: Promise<void> = Promise.resolve();
  /** Cancels the watch for the next write, while no thread runs. */
  private unwatch: (() => void) | undefined;
  private started = false;
  private stopped = false;

  constructor(deps: WalRestarterDeps) {
    this.file = deps.file;
    this.gate = deps.gate;
    this.commits = deps.commits;
    this.onWalRestart = deps.onWalRestart;
    this.quietMs = deps.quietMs ?? WAL_THREAD_QUIET_MS;
  }

  /** Whether the checkpoint thread runs now (it does only while the WAL is written). */
  get threadRunning(): boolean {
    return this.checkpointer !== undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.runAtNextWrite();
  }

  /**
   * Stops the checkpoint thread; the promise settles when it has ended. Until then it may still open the
   * file. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    const running = this.checkpointer?.stop() ?? Promise.resolve();
    this.checkpointer = undefined;
    return Promise.all([running, this.retiring]).then(() => undefined);
  }

  private runAtNextWrite(): void {
    this.unwatch = whenWritten(`${this.file}-wal`, () => {
      this.unwatch = undefined;
      // A thread that went quiet may still be ending; one thread at a time.
      void this.retiring.then(() => this.runThread());
    });
    if (this.unwatch === undefined) void this.retiring.then(() => this.runThread());
  }

  private runThread(): void {
    if (this.stopped || this.checkpointer !== undefined) return;
    const checkpointer: WalCheckpointer = new WalCheckpointer({
      file: this.file,
      onPass: (pass) => this.onPass(pass),
      quietMs: this.quietMs,
      onQuiet: () => this.retire(checkpointer),
    });
    this.checkpointer = checkpointer;
    checkpointer.start();
  }

  /** Ends a thread that found nothing new for quietMs; the next write starts another. */
  private retire(checkpointer: WalCheckpointer): void {
    if (this.stopped || this.checkpointer !== checkpointer) return;
    this.checkpointer = undefined;
    this.retiring = checkpointer.stop();
    this.runAtNextWrite();
  }

  private onPass(pass: CheckpointPass): void {
    if (this.stopped || !this.gate.open || pass.walFrames < WAL_RESTART_FRAMES) return;
    void this.restartWal();
  }

  private async restartWal(): Promise<void> {
    this.commits.commit(false);
    this.gate.hold();
    const heldAt = performance.now();
    let pass: CheckpointPass | undefined;
    try {
      pass = await this.checkpointer?.passNow(WAL_RESTART_HOLD_MS);
    } finally {
      this.gate.release();
    }
    // Complete: the next transaction starts the WAL over. Otherwise (a reader held frames, the disk was too
    // slow for the hold) the next pass that finds it long tries again.
    this.onWalRestart(performance.now() - heldAt, pass !== undefined && pass.checkpointed === pass.walFrames);
  }
}
