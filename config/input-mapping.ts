import type { InputField, InputMapping } from '../daemon/config.js';
import { ConfigProblems, childPath, indexPath, isPlainObject, readMapping } from './config-problems.js';
import { textProblem } from './value-checks.js';

/** Bounds the work per event and the size of one model input row. */
export const MAX_INPUT_FIELDS = 4096;
export const MAX_ONE_HOT_VALUES = 1024;

// Reading these from a decoded event walks into Object.prototype instead of the event's own data.
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Parses `input: { tensor?, fields: [...] }`. A field is written as a dotted path (a required number), or
 * `{path, default}`, `{path, type: boolean, default?}`, `{path, oneHot: [...], default?}`.
 */
export function parseInputMapping(raw: unknown, path: string, problems: ConfigProblems): InputMapping | null {
  const entry = readMapping(raw, path, ['tensor', 'fields'], problems);
  if (entry === null) return null;
  const before = problems.count;

  let tensor: string | null = null;
  if (entry.tensor !== undefined && entry.tensor !== null) {
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
    problems.add(path, 'must be a field path, or a mapping {path, default?, type?, oneHot?}');
    return null;
  }
  const entry = readMapping(raw, path, ['path', 'default', 'type', 'oneHot'], problems);
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
