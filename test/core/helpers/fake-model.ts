/** A ModelRunner whose runs resolve when the test says, with the outputs it gives. */
import type { ModelInfo, ModelInput, ModelResult, ModelRunner } from '../../../daemon/ports.js';

export interface PendingRun {
  input: ModelInput;
  rows: number;
  /** Answers the run: `outputs` row-major, one value per row for a one-output model. */
  resolve(outputs: number[], inferenceMs?: number): void;
  reject(error: Error): void;
}

export class FakeModel implements ModelRunner {
  readonly inputKind = 'tensor' as const;
  readonly concurrency = 1;
  readonly info: ModelInfo;
  /** Every run asked for, answered or not, in order. */
  readonly runs: PendingRun[] = [];
  disposed = false;

  constructor(options: {
    name: string;
    inputWidth: number;
    outputWidth?: number;
    runMs?: number;
    sha256?: string;
  }) {
    this.info = {
      name: options.name,
      runtime: 'fake',
      sha256: options.sha256 ?? 'f'.repeat(64),
      inputs: [],
      outputs: [],
      inputWidth: options.inputWidth,
      outputWidth: options.outputWidth ?? 1,
      labels: null,
      warmupP50Ms: options.runMs ?? 1,
      warmupP95Ms: options.runMs ?? 1,
    };
  }

  async load(): Promise<ModelInfo> {
    return this.info;
  }

  run(input: ModelInput, rows: number): Promise<ModelResult> {
    return new Promise((resolve, reject) => {
      this.runs.push({
        input,
        rows,
        resolve: (outputs, inferenceMs = 1) => resolve({ outputs: Float32Array.from(outputs), inferenceMs }),
        reject,
      });
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
