import path from 'node:path';
import type { ModelConfig } from '../../daemon/config.js';
import type { ConfigProblem } from '../../daemon/errors.js';
import type { LlamaPipeline } from './pipeline.js';

/**
 * The llama runner's own check of its config slice (the loader validated it already; this keeps a runner
 * built in code, by a test or the bench, from starting on nonsense). One problem per key, with its path.
 */
export function llamaConfigProblems(model: ModelConfig, pipeline: LlamaPipeline | null): ConfigProblem[] {
  const at = `models.${String(model.name)}`;
  const problems: ConfigProblem[] = [];
  const problem = (key: string, message: string): void => {
    problems.push({ path: `${at}.${key}`, message });
  };
  if (model.runtime !== 'llama') problem('runtime', `must be "llama", got ${String(model.runtime)}`);
  if (typeof model.path !== 'string' || !path.isAbsolute(model.path))
    problem('path', 'must be an absolute path');
  if (model.sha256 !== null && !/^[0-9a-f]{64}$/i.test(String(model.sha256))) {
    problem('sha256', 'must be 64 hex digits or null');
  }
  if (!Number.isInteger(model.threads) || model.threads < 1 || model.threads > 64) {
    problem('threads', 'must be an integer from 1 to 64');
  }
  const llama = model.llama;
  if (llama === null || typeof llama !== 'object') {
    problem('llama', 'is required for runtime llama');
    return problems;
  }
  if (!['cpu', 'cuda', 'vulkan', 'auto'].includes(llama.device))
    problem('llama.device', 'must be cpu, cuda, vulkan or auto');
  if (!Number.isInteger(llama.sequences) || llama.sequences < 1)
    problem('llama.sequences', 'must be a positive integer');
  if (!Number.isInteger(llama.contextSize) || llama.contextSize < 1)
    problem('llama.contextSize', 'must be a positive integer');
  if (!Number.isInteger(llama.batchSize) || llama.batchSize < 1)
    problem('llama.batchSize', 'must be a positive integer');
  if (llama.gpuLayers !== 'max' && (!Number.isInteger(llama.gpuLayers) || llama.gpuLayers < 0)) {
    problem('llama.gpuLayers', 'must be max or a non-negative integer');
  }
  if (pipeline !== null && (pipeline.prompt === null || typeof pipeline.prompt !== 'object')) {
    problems.push({ path: `pipelines(${pipeline.name}).prompt`, message: 'is required for a llama model' });
  }
  return problems;
}
