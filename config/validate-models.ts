import type { ModelConfig } from './types.js';
import { ConfigProblems, childPath, isPlainObject, readMapping } from './config-problems.js';
import { integerProblem, oneOfProblem, pathProblem } from './value-checks.js';

/** Model names appear in decision messages and log lines; no dots, so `models.<name>.path` stays readable. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const MODEL_RUNTIMES = ['onnx'] as const;

const MODEL_KEYS = ['runtime', 'path', 'sha256', 'threads', 'workers', 'maxBatch'] as const;

/** Bounds and defaults of the numeric model keys. */
export const MODEL_LIMITS = {
  threads: { min: 1, max: 64, default: 1 },
  workers: { min: 1, max: 16, default: 1 },
  maxBatch: { min: 1, max: 1024, default: 32 },
} as const;

/**
 * Validates the `models` section (name → model). Paths are returned as written; the loader resolves them.
 * Entries with problems are left out of the result, and the problems are added to `problems`.
 */
export function validateModels(raw: unknown, problems: ConfigProblems): Record<string, ModelConfig> {
  const models: Record<string, ModelConfig> = {};
  if (raw === undefined || raw === null) return models;
  if (!isPlainObject(raw)) {
    problems.add('models', 'must be a mapping of model name to model');
    return models;
  }
  for (const [name, value] of Object.entries(raw)) {
    const path = childPath('models', name);
    if (!MODEL_NAME_PATTERN.test(name)) {
      problems.add(path, 'model name must match [A-Za-z0-9][A-Za-z0-9_-]* (at most 64 characters)');
      continue;
    }
    const model = validateModel(name, value, path, problems);
    if (model !== null) models[name] = model;
  }
  return models;
}

function validateModel(
  name: string,
  value: unknown,
  path: string,
  problems: ConfigProblems,
): ModelConfig | null {
  const entry = readMapping(value, path, MODEL_KEYS, problems);
  if (entry === null) return null;
  const before = problems.count;

  const runtime = entry.runtime;
  if (runtime === undefined) problems.add(childPath(path, 'runtime'), 'is required (onnx)');
  else {
    const problem = oneOfProblem(runtime, MODEL_RUNTIMES);
    if (problem !== null) problems.add(childPath(path, 'runtime'), problem);
  }

  const file = entry.path;
  if (file === undefined || file === null) problems.add(childPath(path, 'path'), 'is required');
  else {
    const problem = pathProblem(file);
    if (problem !== null) problems.add(childPath(path, 'path'), problem);
  }

  let sha256: string | null = null;
  if (entry.sha256 !== undefined && entry.sha256 !== null) {
    if (typeof entry.sha256 === 'string' && /^[0-9a-fA-F]{64}$/.test(entry.sha256)) {
      sha256 = entry.sha256.toLowerCase();
    } else {
      problems.add(childPath(path, 'sha256'), 'must be 64 hexadecimal characters');
    }
  }

  const numbers = {} as Record<keyof typeof MODEL_LIMITS, number>;
  for (const key of Object.keys(MODEL_LIMITS) as (keyof typeof MODEL_LIMITS)[]) {
    const limit = MODEL_LIMITS[key];
    const given = entry[key];
    if (given === undefined) {
      numbers[key] = limit.default;
      continue;
    }
    const problem = integerProblem(given, limit.min, limit.max);
    if (problem !== null) problems.add(childPath(path, key), problem);
    else numbers[key] = given as number;
  }

  if (problems.count !== before) return null;
  return {
    name,
    runtime: runtime as ModelConfig['runtime'],
    path: file as string,
    sha256,
    threads: numbers.threads,
    workers: numbers.workers,
    llama: null,
    maxBatch: numbers.maxBatch,
  };
}
