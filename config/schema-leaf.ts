/**
 * The building blocks of the convict schema: one key (`SchemaLeaf`) with its default, environment variable
 * and check, and the convict formats that convert environment strings strictly.
 */
import convict from 'convict';
import { childPath } from './config-problems.js';
import { booleanProblem, integerProblem, oneOfProblem, pathProblem } from './value-checks.js';

type FormatName = 'infergate-int' | 'infergate-bool' | 'infergate-string' | 'infergate-optional-string';

/** One config key. `check` returns why a (non-null) value is wrong, or null. */
export interface SchemaLeaf {
  doc: string;
  default: unknown;
  format: FormatName;
  env: string;
  nullable: boolean;
  check: (value: unknown) => string | null;
}

export interface SchemaNode {
  [key: string]: SchemaNode | SchemaLeaf;
}

export function isLeaf(node: SchemaNode | SchemaLeaf): node is SchemaLeaf {
  return Object.hasOwn(node, 'default');
}

// Coercion only turns strings that unambiguously spell a value into that value; anything else is left as
// a string so the check reports it, instead of convict's `parseInt('12abc') === 12` or `'no' → true`.
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
const TRUE_TEXT = new Set(['true', '1', 'yes', 'on']);
const FALSE_TEXT = new Set(['false', '0', 'no', 'off']);

function convictValidate(value: unknown, item: SchemaLeaf): void {
  if (item.nullable && value === null) return;
  const problem = item.check(value);
  if (problem !== null) throw new Error(problem);
}

convict.addFormats({
  'infergate-int': {
    validate: convictValidate,
    coerce: (text: string): unknown => (INTEGER_TEXT.test(text) ? Number(text.trim()) : text),
  },
  'infergate-bool': {
    validate: convictValidate,
    coerce: (text: string): unknown => {
      const folded = text.trim().toLowerCase();
      if (TRUE_TEXT.has(folded)) return true;
      if (FALSE_TEXT.has(folded)) return false;
      return text;
    },
  },
  'infergate-string': { validate: convictValidate, coerce: (text: string): unknown => text },
  // An empty environment variable means "not set" for the keys that may be null.
  'infergate-optional-string': {
    validate: convictValidate,
    coerce: (text: string): unknown => (text === '' ? null : text),
  },
});

export interface LeafOptions {
  doc: string;
  env: string;
  nullable?: boolean;
}

export function intKey(
  options: LeafOptions,
  defaultValue: number | null,
  min: number,
  max: number,
): SchemaLeaf {
  return leaf(options, defaultValue, 'infergate-int', (v) => integerProblem(v, min, max));
}

export function enumKey<T>(options: LeafOptions, defaultValue: T, values: readonly T[]): SchemaLeaf {
  const format: FormatName = typeof defaultValue === 'number' ? 'infergate-int' : 'infergate-string';
  return leaf(options, defaultValue, format, (v) => oneOfProblem(v, values));
}

export function boolKey(options: LeafOptions, defaultValue: boolean): SchemaLeaf {
  return leaf(options, defaultValue, 'infergate-bool', booleanProblem);
}

export function pathKey(options: LeafOptions, defaultValue: string | null): SchemaLeaf {
  const format = options.nullable === true ? 'infergate-optional-string' : 'infergate-string';
  return leaf(options, defaultValue, format, pathProblem);
}

export function leaf(
  options: LeafOptions,
  defaultValue: unknown,
  format: FormatName,
  check: (value: unknown) => string | null,
): SchemaLeaf {
  return {
    doc: options.doc,
    default: defaultValue,
    format,
    env: options.env,
    nullable: options.nullable ?? false,
    check,
  };
}

/** Every leaf with its dotted path, in schema order. */
export function schemaLeaves(node: SchemaNode, base = ''): { path: string; leaf: SchemaLeaf }[] {
  const out: { path: string; leaf: SchemaLeaf }[] = [];
  for (const [key, child] of Object.entries(node)) {
    const path = childPath(base, key);
    if (isLeaf(child)) out.push({ path, leaf: child });
    else out.push(...schemaLeaves(child, path));
  }
  return out;
}
