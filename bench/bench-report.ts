/** What `npm run bench -- --json FILE` writes, and what `bench/plot.ts` reads back. */
import type { IdleResult } from './idle-probe.js';
import type { LoadResult } from './load-generator.js';
import type { MachineInfo } from './machine-info.js';
import type { MemoryStats } from './proc-stats.js';
import type { RatioRow, SaturationRow } from './report.js';

export type TargetName = 'gateway' | 'bare' | 'nodered';

export const TARGET_NAMES: readonly TargetName[] = ['gateway', 'bare', 'nodered'];

export interface MemorySample {
  atReady: MemoryStats | null;
  /** Largest VmRSS seen after a step. */
  maxRssMiB: number | null;
  /** VmHWM at the end of the run. */
  peak: MemoryStats | null;
}

export interface BenchReport {
  startedAt: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  /**
   * Per system and event shape, keyed `<target>` (one shape in the run) or `<event>/<target>`; each shape
   * runs with freshly started systems, so start-up and memory are per shape.
   */
  startup: Record<string, { event?: string; startupMs: number; memory: MemorySample }>;
  results: LoadResult[];
  ratios: RatioRow[];
  /** Per event shape and target: the highest sustained rate of the run (report.ts saturation()). */
  saturation: SaturationRow[];
  /** `--idle`: one window per event shape, after priming, before the first step (absent without it). */
  idle?: IdleResult[];
  warnings: string[];
  errors: string[];
}
