import { join } from 'node:path';
import { writeSlowModel } from './test-models.js';
import { atmPipeline } from './gateway-process.js';

/**
 * Writes a real ONNX model that takes far longer than the budget on this class of machine (a chain of
 * large MatMuls), and returns models/pipelines config sections using it for the atm pipeline.
 */
export async function slowPipelineConfig(
  dir: string,
  pipeline: Record<string, unknown>,
): Promise<{ models: Record<string, unknown>; pipelines: Record<string, unknown>[] }> {
  const path = join(dir, 'slow.onnx');
  // ~25 ms per 64 links on a 2-core x86 box: about 300 ms per run.
  await writeSlowModel(path, { inputs: 13, outputs: 1, chainLength: 800 });
  return {
    models: { slow: { runtime: 'onnx', path, threads: 1, maxBatch: 1 } },
    pipelines: [atmPipeline({ model: 'slow', budgetMs: 100, ...pipeline })],
  };
}
