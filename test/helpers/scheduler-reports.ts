/** The scheduler's two reports (model output, fallback) as one value per job, for tests that collect them. */
import type { Job } from '../../daemon/job.js';
import type { SchedulerDeps, SchedulerFallback } from '../../daemon/scheduler.js';

export type SchedulerReport =
  | { kind: 'model'; outputs: Float32Array; offset: number; inferenceMs: number; explanation: string | null }
  | { kind: 'fallback'; reason: SchedulerFallback; errorCode?: string };

export function reportTo(
  onReport: (job: Job, report: SchedulerReport) => void,
): Pick<SchedulerDeps, 'onModelOutput' | 'onFallback'> {
  return {
    onModelOutput: (job, result, row) =>
      onReport(job, {
        kind: 'model',
        outputs: result.outputs,
        offset: row * job.pipeline.model.info.outputWidth,
        inferenceMs: result.inferenceMs,
        explanation: result.explanations?.[row] ?? null,
      }),
    onFallback: (job, reason, errorCode) => onReport(job, { kind: 'fallback', reason, errorCode }),
  };
}
