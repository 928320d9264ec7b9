/**
 * Turns one data record into a model input value by name, with the names model cards use for their
 * inputs, which are those of a pipeline's input mapping:
 *   `amount`              the value at that key, or at that dotted path in nested JSON (`velocity.count10m`)
 *   `currency=domestic`   one-hot: 1 when the value at `currency` is "domestic", else 0
 * Booleans are 1/0; CSV cells are text, so numeric text is read as a number and `true`/`false` as 1/0.
 * The same rules build the training features and the features `infergate eval` feeds the model, so the
 * shipped data files evaluate exactly as they were trained on.
 */
export type DataRecord = Record<string, unknown>;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export class FeatureError extends Error {}

function lookup(record: DataRecord, path: string): unknown {
  if (Object.hasOwn(record, path)) return record[path];
  let current: unknown = record;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as DataRecord)[part];
  }
  return current;
}

/** Throws FeatureError (message names the input, never the value) when there is no usable value. */
export function featureValue(record: DataRecord, name: string): number {
  const direct = lookup(record, name);
  if (direct !== undefined) return toNumber(direct, name);
  const eq = name.indexOf('=');
  if (eq > 0) {
    const category = lookup(record, name.slice(0, eq));
    if (category !== undefined && category !== null && category !== '') {
      return String(category) === name.slice(eq + 1) ? 1 : 0;
    }
  }
  throw new FeatureError(`no value for input '${name}'`);
}

function toNumber(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'boolean') {
    return value ? 1 : 0;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (text === 'true') return 1;
    if (text === 'false') return 0;
    if (NUMBER.test(text)) return Number(text);
  }
  throw new FeatureError(`input '${name}' is not a finite number or boolean`);
}

/** Row-major `records × names`. */
export function featureMatrix(records: readonly DataRecord[], names: readonly string[]): Float64Array {
  const out = new Float64Array(records.length * names.length);
  records.forEach((record, r) => {
    names.forEach((name, i) => {
      out[r * names.length + i] = featureValue(record, name);
    });
  });
  return out;
}
