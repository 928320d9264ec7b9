import { pipelineModels } from './compile-pipelines.js';
import type { PipelineConfig } from './config.js';
import { MODEL_SHA_PREFIX_LENGTH } from './decider.js';
import type { GatewayMetrics, Logger, ModelRunner } from './ports.js';

/**
 * Loads (verifies, warms up) every model a pipeline uses, in parallel; on any failure releases them all and
 * rethrows the first error (`onFailure` hears of each). Then logs each pipeline's measured model latency against its budget, so an
 * infeasible budget is visible at start rather than as a stream of fallbacks.
 */
export async function loadModels(
  models: ReadonlyMap<string, ModelRunner>,
  pipelines: readonly PipelineConfig[],
  logger: Logger,
  metrics: GatewayMetrics,
  onFailure?: (model: string, error: unknown) => void,
): Promise<void> {
  const used = new Set(pipelines.flatMap(pipelineModels));
  const results = await Promise.allSettled(
    [...models]
      .filter(([name]) => used.has(name))
      .map(async ([name, runner]) => {
        const started = performance.now();
        try {
          await runner.load();
        } catch (error) {
          onFailure?.(name, error);
          throw error;
        }
        metrics.modelLoaded(name, performance.now() - started);
      }),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.allSettled([...models.values()].map((m) => m.dispose()));
    throw failure.reason;
  }
  for (const pipeline of pipelines) {
    const info = models.get(pipeline.model)!.info;
    const fields = {
      pipeline: pipeline.name,
      model: info.name,
      sha256: info.sha256.slice(0, MODEL_SHA_PREFIX_LENGTH),
      p50Ms: round(info.warmupP50Ms),
      p95Ms: round(info.warmupP95Ms),
      budgetMs: pipeline.budgetMs,
    };
    if (info.warmupP95Ms > pipeline.budgetMs) {
      logger.warn(fields, 'model p95 latency exceeds the pipeline budget: expect fallback decisions');
    } else {
      logger.info(fields, 'model latency measured against the pipeline budget');
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
