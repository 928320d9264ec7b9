import type { ConfigProblem } from '../daemon/errors.js';

/**
 * Collects every problem found while validating one config, so the user fixes them in one round instead
 * of one per restart. Paths use the form the user reads in the file: `pipelines[1].decide.threshold`.
 */
export class ConfigProblems {
  readonly items: ConfigProblem[] = [];

  add(path: string, message: string): void {
    this.items.push({ path: path === '' ? '(root)' : path, message });
  }

  get count(): number {
    return this.items.length;
  }
}

/** `base.key`, or `key` at the root. */
export function childPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is a mapping holding only `allowed` keys; reports each other key as unknown (with a
 * suggestion when one is close). Returns the mapping, or null (reported) when `value` is not one.
 */
export function readMapping(
  value: unknown,
  path: string,
  allowed: readonly string[],
  problems: ConfigProblems,
): Record<string, unknown> | null {
  if (!isPlainObject(value)) {
    problems.add(path, `must be a mapping (${describeKeys(allowed)})`);
    return null;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add(childPath(path, key), unknownKeyMessage(key, allowed));
  }
  return value;
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closestKey(key, allowed);
  return suggestion === null ? 'unknown key' : `unknown key (did you mean '${suggestion}'?)`;
}

function describeKeys(keys: readonly string[]): string {
  return keys.length === 0 ? 'empty' : `keys: ${keys.join(', ')}`;
}

/** The allowed key a typo most likely meant: same letters ignoring case/separators, or ≤ 2 edits away. */
function closestKey(key: string, allowed: readonly string[]): string | null {
  const fold = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    if (fold(candidate) === fold(key)) return candidate;
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it is known to reach `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return Math.min(previous[b.length]!, limit);
}
