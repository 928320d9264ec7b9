/** What `npm run bench -- --json FILE` writes, and what `bench/plot.ts` reads back. */
import type { LoadResult } from './load-generator.js';
import type { MachineInfo } from './machine-info.js';
import type { MemoryStats } from './proc-stats.js';
import type { RatioRow } from './report.js';

export type TargetName = 'gateway' | 'bare';

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
  startup: Partial<Record<TargetName, { startupMs: number; memory: MemorySample }>>;
  results: LoadResult[];
  ratios: RatioRow[];
  warnings: string[];
  errors: string[];
}
