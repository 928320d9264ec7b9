import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { LlamaModelConfig, ModelConfig, ModelPlacement } from '../daemon/config.js';
import type { ConfigProblem } from '../daemon/errors.js';
import { ConfigProblems, childPath, isPlainObject, readMapping } from './config-problems.js';
import { integerProblem, oneOfProblem, pathProblem } from './value-checks.js';
import { fileErrorReason } from './file-error-reason.js';

/** Model names appear in decision messages and log lines; no dots, so `models.<name>.path` stays readable. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const MODEL_RUNTIMES = ['onnx', 'llama'] as const;

const MODEL_KEYS = [
  'runtime',
  'path',
  'sha256',
  'threads',
  'workers',
  'placement',
  'maxBatch',
  'llama',
] as const;
/** ONNX keys a llama model does not read: it evaluates one prompt per sequence, `llama.sequences` at once. */
const ONNX_ONLY_KEYS = ['workers', 'placement', 'maxBatch'] as const;

export const MODEL_PLACEMENTS = ['auto', 'inline', 'workers'] as const;

export const LLAMA_DEVICES = ['cpu', 'cuda', 'vulkan', 'auto'] as const;
const LLAMA_KEYS = ['device', 'contextSize', 'batchSize', 'gpuLayers', 'sequences'] as const;
/** Bounds and defaults of the numeric `llama` keys (tokens, sequences). */
export const LLAMA_LIMITS = {
  contextSize: { min: 256, max: 131072, default: 2048 },
  batchSize: { min: 16, max: 8192, default: 128 },
  sequences: { min: 1, max: 16, default: 2 },
} as const;
const MAX_GPU_LAYERS = 1000;

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
  checkOneLlamaDevice(models, problems);
  return models;
}

/** One process holds one llama runtime, bound to one device: every llama model must name the same one. */
function checkOneLlamaDevice(models: Record<string, ModelConfig>, problems: ConfigProblems): void {
  let first: ModelConfig | null = null;
  for (const model of Object.values(models)) {
    if (model.llama === null) continue;
    if (first === null) first = model;
    else if (model.llama.device !== first.llama!.device) {
      problems.add(
        childPath(childPath(childPath('models', model.name), 'llama'), 'device'),
        `must match models.${first.name}.llama.device (${first.llama!.device}): all llama models share one ` +
          'llama runtime per process, on one device',
      );
    }
  }
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
  if (runtime === undefined) problems.add(childPath(path, 'runtime'), 'is required (onnx or llama)');
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

  const placement = entry.placement ?? 'auto';
  const placementProblem = oneOfProblem(placement, MODEL_PLACEMENTS);
  if (placementProblem !== null) problems.add(childPath(path, 'placement'), placementProblem);

  let llama: LlamaModelConfig | null = null;
  if (runtime === 'llama') {
    for (const key of ONNX_ONLY_KEYS) {
      if (entry[key] !== undefined) {
        problems.add(
          childPath(path, key),
          'is not used by runtime llama: it evaluates one event per sequence, llama.sequences at once',
        );
      }
    }
    llama = parseLlama(entry.llama ?? {}, childPath(path, 'llama'), problems);
  } else if (entry.llama !== undefined) {
    problems.add(childPath(path, 'llama'), 'applies to runtime llama only');
  }

  if (problems.count !== before) return null;
  return {
    name,
    runtime: runtime as ModelConfig['runtime'],
    path: file as string,
    sha256,
    threads: numbers.threads,
    workers: llama === null ? numbers.workers : 1,
    placement: llama === null ? (placement as ModelPlacement) : 'workers',
    llama,
    maxBatch: llama === null ? numbers.maxBatch : 1,
  };
}

/** `llama: {device?, contextSize?, batchSize?, gpuLayers?, sequences?}`, every key optional. */
function parseLlama(raw: unknown, path: string, problems: ConfigProblems): LlamaModelConfig | null {
  const entry = readMapping(raw, path, LLAMA_KEYS, problems);
  if (entry === null) return null;
  const before = problems.count;
  const device = entry.device ?? 'cpu';
  const deviceProblem = oneOfProblem(device, LLAMA_DEVICES);
  if (deviceProblem !== null) problems.add(childPath(path, 'device'), deviceProblem);

  const numbers = {} as Record<keyof typeof LLAMA_LIMITS, number>;
  for (const key of Object.keys(LLAMA_LIMITS) as (keyof typeof LLAMA_LIMITS)[]) {
    const limit = LLAMA_LIMITS[key];
    const given = entry[key] ?? limit.default;
    const problem = integerProblem(given, limit.min, limit.max);
    if (problem !== null) problems.add(childPath(path, key), problem);
    else numbers[key] = given as number;
  }
  if (
    numbers.batchSize !== undefined &&
    numbers.contextSize !== undefined &&
    numbers.batchSize > numbers.contextSize
  ) {
    problems.add(childPath(path, 'batchSize'), `must not exceed contextSize (${numbers.contextSize})`);
  }

  // A CPU build offloads nothing; elsewhere every layer goes to the GPU unless the config says otherwise.
  const gpuLayers = entry.gpuLayers ?? (device === 'cpu' ? 0 : 'max');
  if (gpuLayers !== 'max') {
    const problem = integerProblem(gpuLayers, 0, MAX_GPU_LAYERS);
    if (problem !== null) problems.add(childPath(path, 'gpuLayers'), `${problem}, or max`);
  }

  if (problems.count !== before) return null;
  return {
    device: device as LlamaModelConfig['device'],
    contextSize: numbers.contextSize,
    batchSize: numbers.batchSize,
    gpuLayers: gpuLayers as number | 'max',
    sequences: numbers.sequences,
  };
}

/** Hex digits of a pinned sha256 shown in a mismatch message; the file's own hash is shown whole, to pin it. */
const SHA_SHOWN = 12;

/**
 * Checks every model file of a validated config (paths resolved) without loading it: it exists, is a
 * regular file, can be read, and matches its pinned sha256. Every problem is returned, in model order;
 * files are hashed one at a time (a GGUF can be gigabytes, streamed, never held in memory).
 */
export async function checkModelFiles(
  models: Readonly<Record<string, ModelConfig>>,
): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const model of Object.values(models)) {
    const problem = await modelFileProblem(model);
    if (problem !== null) problems.push(problem);
  }
  return problems;
}

async function modelFileProblem(model: ModelConfig): Promise<ConfigProblem | null> {
  const at = (key: string, message: string): ConfigProblem => ({
    path: childPath(childPath('models', model.name), key),
    message,
  });
  try {
    if (!(await stat(model.path)).isFile()) return at('path', `is not a regular file: ${model.path}`);
  } catch (error) {
    return at('path', `${fileErrorReason(error)}: ${model.path}`);
  }
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(model.path, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
  } catch (error) {
    return at('path', `cannot be read (${fileErrorReason(error)}): ${model.path}`);
  }
  const actual = hash.digest('hex');
  if (model.sha256 !== null && model.sha256 !== actual) {
    return at(
      'sha256',
      `does not match ${model.path}: pinned ${model.sha256.slice(0, SHA_SHOWN)}…, the file has ${actual}`,
    );
  }
  return null;
}
