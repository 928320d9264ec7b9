/**
 * Records every worker thread started after `installWorkerSpy()`, so tests can see whether threads are
 * still alive and can kill one to simulate a crash. Install it before importing the module under test:
 * builtin ESM exports are rebound with syncBuiltinESMExports, which only affects later imports.
 */
import { syncBuiltinESMExports } from 'node:module';
import workerThreads, { type WorkerOptions } from 'node:worker_threads';

export interface WorkerSpy {
  /** Every worker created since install, in creation order. */
  readonly workers: workerThreads.Worker[];
  alive(): workerThreads.Worker[];
}

export function installWorkerSpy(): WorkerSpy {
  const Original = workerThreads.Worker;
  const workers: workerThreads.Worker[] = [];
  const exited = new WeakSet<workerThreads.Worker>();
  class RecordedWorker extends Original {
    constructor(filename: string | URL, options?: WorkerOptions) {
      super(filename, options);
      workers.push(this);
      this.once('exit', () => exited.add(this));
    }
  }
  workerThreads.Worker = RecordedWorker;
  syncBuiltinESMExports();
  return { workers, alive: () => workers.filter((worker) => !exited.has(worker)) };
}
