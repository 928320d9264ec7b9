import type { GroupCommit } from './group-commit.js';
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

export interface WalRestarterDeps {
  /** The state database file. */
  file: string;
  /** Held while the restart needs a moment with no new frames. */
  gate: WriteGate;
  /** The writer's transactions: what it holds is committed before the hold. */
  commits: GroupCommit;
  /** Told after each restart attempt: how long writes were held, ms, and whether the WAL restarted. */
  onWalRestart: (heldMs: number, restarted: boolean) => void;
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
 */
export class WalRestarter {
  private readonly gate: WriteGate;
  private readonly commits: GroupCommit;
  private readonly onWalRestart: (heldMs: number, restarted: boolean) => void;
  private readonly file: string;
  private checkpointer: WalCheckpointer | undefined;
  private stopped = false;

  constructor(deps: WalRestarterDeps) {
    this.file = deps.file;
    this.gate = deps.gate;
    this.commits = deps.commits;
    this.onWalRestart = deps.onWalRestart;
  }

  start(): void {
    if (this.checkpointer !== undefined || this.stopped) return;
    this.checkpointer = new WalCheckpointer({ file: this.file, onPass: (pass) => this.onPass(pass) });
    this.checkpointer.start();
  }

  /**
   * Stops the checkpoint thread; the promise settles when it has ended. Until then it may still open the
   * file. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped = true;
    return this.checkpointer?.stop() ?? Promise.resolve();
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
