import type { InputField, InputMapping, TensorInputMapping } from '../daemon/config.js';
import { ConfigProblems, childPath, indexPath, isPlainObject, readMapping } from './config-problems.js';
import { tensorShapeProblem } from './tensor-shape.js';
import { textProblem } from './value-checks.js';

/** Bounds the work per event and the size of one model input row. */
export const MAX_INPUT_FIELDS = 4096;
export const MAX_ONE_HOT_VALUES = 1024;
/** Input tensors of one model a pipeline maps. */
export const MAX_INPUT_TENSORS = 16;

// Reading these from a decoded event walks into Object.prototype instead of the event's own data.
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Parses `input: { tensor?, fields: [...] }`, or `input: { tensors: [{ tensor, fields }, ...] }` for a
 * model with several input tensors. A field is written as a dotted path (a required number), or
 * `{path, default}`, `{path, type: boolean, default?}`, `{path, oneHot: [...], default?}`,
 * `{path, shape: [d1, ...]}` (a numeric array or typed array of exactly that shape).
 */
export function parseInputMapping(raw: unknown, path: string, problems: ConfigProblems): InputMapping | null {
  if (isPlainObject(raw) && raw.tensors !== undefined) return parseMultiInput(raw, path, problems);
  return parseOneTensor(raw, path, problems, false);
}

function parseMultiInput(
  raw: Record<string, unknown>,
  path: string,
  problems: ConfigProblems,
): InputMapping | null {
  const entry = readMapping(raw, path, ['tensors'], problems);
  if (entry === null) return null;
  const before = problems.count;
  const listPath = childPath(path, 'tensors');
  if (
    !Array.isArray(entry.tensors) ||
    entry.tensors.length === 0 ||
    entry.tensors.length > MAX_INPUT_TENSORS
  ) {
    problems.add(listPath, `must be a list of 1 to ${MAX_INPUT_TENSORS} mappings {tensor, fields}`);
    return null;
  }
  const tensors: TensorInputMapping[] = [];
  const seen = new Set<string>();
  entry.tensors.forEach((value: unknown, index) => {
    const at = indexPath(listPath, index);
    const mapping = parseOneTensor(value, at, problems, true);
    if (mapping === null || mapping.tensor === null) return;
    if (seen.has(mapping.tensor))
      problems.add(childPath(at, 'tensor'), `maps tensor '${mapping.tensor}' twice`);
    seen.add(mapping.tensor);
    tensors.push({ tensor: mapping.tensor, fields: mapping.fields });
  });
  return problems.count === before ? { tensor: null, fields: [], tensors } : null;
}

function parseOneTensor(
  raw: unknown,
  path: string,
  problems: ConfigProblems,
  tensorRequired: boolean,
): InputMapping | null {
  const entry = readMapping(raw, path, ['tensor', 'fields'], problems);
  if (entry === null) return null;
  const before = problems.count;

  let tensor: string | null = null;
  if (tensorRequired && (entry.tensor === undefined || entry.tensor === null)) {
    problems.add(childPath(path, 'tensor'), 'is required (the model input tensor this mapping fills)');
  } else if (entry.tensor !== undefined && entry.tensor !== null) {
    const problem = textProblem(entry.tensor, 256);
    if (problem !== null) problems.add(childPath(path, 'tensor'), problem);
    else tensor = entry.tensor as string;
  }

  const fieldsPath = childPath(path, 'fields');
  const fields: InputField[] = [];
  if (!Array.isArray(entry.fields) || entry.fields.length === 0) {
    problems.add(fieldsPath, `must be a list of 1 to ${MAX_INPUT_FIELDS} fields`);
  } else if (entry.fields.length > MAX_INPUT_FIELDS) {
    problems.add(fieldsPath, `must be a list of 1 to ${MAX_INPUT_FIELDS} fields`);
  } else {
    entry.fields.forEach((value: unknown, index) => {
      const field = parseField(value, indexPath(fieldsPath, index), problems);
      if (field !== null) fields.push(field);
    });
  }
  return problems.count === before ? { tensor, fields } : null;
}

export function fieldPathProblem(value: unknown): string | null {
  const text = textProblem(value, 256);
  if (text !== null) return text;
  const segments = (value as string).split('.');
  if (segments.some((segment) => segment.length === 0)) {
    return 'must be a dotted path of non-empty names (card.present)';
  }
  const forbidden = segments.find((segment) => FORBIDDEN_SEGMENTS.has(segment));
  if (forbidden !== undefined) return `must not use the name '${forbidden}'`;
  return null;
}

function parseField(raw: unknown, path: string, problems: ConfigProblems): InputField | null {
  if (typeof raw === 'string') {
    const problem = fieldPathProblem(raw);
    if (problem !== null) {
      problems.add(path, problem);
      return null;
    }
    return { kind: 'number', path: raw, default: null };
  }
  if (!isPlainObject(raw)) {
    problems.add(path, 'must be a field path, or a mapping {path, default?, type?, oneHot?, shape?}');
    return null;
  }
  const entry = readMapping(raw, path, ['path', 'default', 'type', 'oneHot', 'shape'], problems);
  if (entry === null) return null;
  const before = problems.count;

  if (entry.path === undefined) problems.add(childPath(path, 'path'), 'is required');
  else {
    const problem = fieldPathProblem(entry.path);
    if (problem !== null) problems.add(childPath(path, 'path'), problem);
  }
  const fieldPath = entry.path as string;
  const defaultPath = childPath(path, 'default');
  const given = entry.default ?? null;

  if (entry.shape !== undefined) {
    for (const key of ['default', 'type', 'oneHot'] as const) {
      if (entry[key] !== undefined)
        problems.add(childPath(path, key), 'must not be given together with shape');
    }
    const problem = tensorShapeProblem(entry.shape);
    if (problem !== null) problems.add(childPath(path, 'shape'), problem);
    if (problems.count !== before) return null;
    return { kind: 'tensor', path: fieldPath, shape: [...(entry.shape as number[])] };
  }

  if (entry.oneHot !== undefined) {
    if (entry.type !== undefined)
      problems.add(childPath(path, 'type'), 'must not be given together with oneHot');
    const values = oneHotValues(entry.oneHot, childPath(path, 'oneHot'), problems);
    if (given !== null && (typeof given !== 'string' || (values !== null && !values.includes(given)))) {
      problems.add(defaultPath, 'must be one of the oneHot values');
    }
    if (problems.count !== before || values === null) return null;
    return { kind: 'oneHot', path: fieldPath, values, default: given as string | null };
  }

  const type = entry.type ?? 'number';
  if (type === 'boolean') {
    if (given !== null && typeof given !== 'boolean') problems.add(defaultPath, 'must be true or false');
    if (problems.count !== before) return null;
    return { kind: 'boolean', path: fieldPath, default: given as boolean | null };
  }
  if (type !== 'number') {
    problems.add(childPath(path, 'type'), 'must be number or boolean (or use oneHot: [...])');
    return null;
  }
  if (given !== null && (typeof given !== 'number' || !Number.isFinite(given))) {
    problems.add(defaultPath, 'must be a finite number');
  }
  if (problems.count !== before) return null;
  return { kind: 'number', path: fieldPath, default: given as number | null };
}

function oneHotValues(raw: unknown, path: string, problems: ConfigProblems): string[] | null {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ONE_HOT_VALUES) {
    problems.add(path, `must be a list of 1 to ${MAX_ONE_HOT_VALUES} strings`);
    return null;
  }
  let ok = true;
  const seen = new Set<string>();
  raw.forEach((value: unknown, index) => {
    const problem = textProblem(value, 256);
    if (problem !== null) {
      problems.add(indexPath(path, index), problem);
      ok = false;
    } else if (seen.has(value as string)) {
      problems.add(indexPath(path, index), `duplicates '${value as string}'`);
      ok = false;
    } else {
      seen.add(value as string);
    }
  });
  return ok ? [...seen] : null;
}
