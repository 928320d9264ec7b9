import type { TensorPayloadConfig } from '../daemon/config.js';
import { ConfigProblems, childPath, readMapping } from './config-problems.js';
import { tensorShapeProblem } from './tensor-shape.js';
import { oneOfProblem } from './value-checks.js';

export const TENSOR_PAYLOAD_DTYPES = ['float32', 'int16'] as const;
/** A pipeline's own payload limit may exceed `limits.maxPayloadBytes` (camera frames), up to this. */
export const MAX_PIPELINE_PAYLOAD_BYTES = 67_108_864;

/**
 * `tensor: { dtype, shape }` of a pipeline: required with `decoder: tensor`, refused with any other
 * decoder (it would silently do nothing there).
 */
export function parseTensorPayload(
  raw: unknown,
  decoder: unknown,
  path: string,
  problems: ConfigProblems,
): TensorPayloadConfig | null {
  const given = raw !== undefined && raw !== null;
  if (decoder !== 'tensor') {
    if (given) problems.add(path, 'is only read with decoder: tensor');
    return null;
  }
  if (!given) {
    problems.add(path, 'is required with decoder: tensor ({ dtype: float32|int16, shape: [...] })');
    return null;
  }
  const entry = readMapping(raw, path, ['dtype', 'shape'], problems);
  if (entry === null) return null;
  const before = problems.count;
  const dtypeProblem = oneOfProblem(entry.dtype, TENSOR_PAYLOAD_DTYPES);
  if (dtypeProblem !== null) problems.add(childPath(path, 'dtype'), dtypeProblem);
  const shapeProblem = tensorShapeProblem(entry.shape);
  if (shapeProblem !== null) problems.add(childPath(path, 'shape'), shapeProblem);
  if (problems.count !== before) return null;
  return {
    dtype: entry.dtype as TensorPayloadConfig['dtype'],
    shape: [...(entry.shape as number[])],
  };
}
