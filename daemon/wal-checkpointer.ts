import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the WAL is folded back into the database file, ms. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** How long stop() waits for the last checkpoint before it ends the thread, ms. */
const STOP_GRACE_MS = 2000;

/**
 * Runs SQLite WAL checkpoints on a worker thread with its own connection. A checkpoint copies pages and
 * fsyncs the WAL and the database file; on the main thread that stalls acks and deadline timers for
 * milliseconds several times a second under load, so this does the bulk of it. Restarting the WAL is left
 * to the writer (see `WRITER_CHECKPOINT_FRAMES` in inbox.ts), which finds little left to copy.
 *
 * The thread is a V8 isolate of its own (~9 MiB resident). Sharing the ONNX inference thread instead would
 * save that, but every checkpoint's fsync would then hold up the inferences queued behind it.
 */
export class WalCheckpointer {
  private readonly file: string;
  private worker: Worker | undefined;

  constructor(file: string) {
    this.file = file;
  }

  start(): void {
    if (this.worker !== undefined) return;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // An eval'd worker resolves require() from the process's working directory, which under systemd
      // is `/`: better-sqlite3 then was not found, the thread died at once and no checkpoint ever ran.
      workerData: { file: this.file, intervalMs: CHECKPOINT_INTERVAL_MS, sqlite: sqliteModulePath() },
      execArgv: [],
    });
    this.worker.unref();
    // A failed checkpoint only lets the WAL grow until the next one; it must never take the daemon down.
    this.worker.on('error', () => {});
  }

  /** Stops the worker after one last checkpoint. Idempotent. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    // Keeps the process alive for the last checkpoint, which an otherwise idle process would cut short.
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())]);
    await worker.terminate();
  }
}

/** better-sqlite3 as this package resolves it, whatever the working directory. */
function sqliteModulePath(): string {
  return createRequire(import.meta.url).resolve('better-sqlite3');
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); process.exit(0); });
`;
