/**
 * Writes one tensor field of an input mapping into the row: a nested JSON numeric array of exactly the
 * declared shape (flattened row-major), or a typed array of product(shape) values as a binary decoder puts
 * it into the event. Errors name the field and the index at fault, never a value: the values are payload.
 */
import { ErrorCodes, InputError } from './errors.js';

/** Beyond this a finite double turns into Infinity when stored as float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

export function isFloat32Finite(value: number): boolean {
  return value >= -FLOAT32_MAX && value <= FLOAT32_MAX;
}

/** What fillTensor needs of a compiled tensor field. */
export interface TensorTarget {
  readonly path: string;
  readonly shape: readonly number[];
  /** product(shape) */
  readonly width: number;
}

/** Throws IG_ERR_INPUT_FIELD_INVALID (`field` = the path); the row is then partly written. */
export function fillTensor(field: TensorTarget, value: unknown, target: Float32Array, at: number): void {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    fillFromTypedArray(field, value as unknown as ArrayLike<number | bigint>, target, at);
    return;
  }
  if (!Array.isArray(value)) {
    throw invalid(field, `must be an array of shape [${field.shape.join(', ')}], got ${describe(value)}`);
  }
  fillNested(field, value, 0, target, at, []);
}

function fillFromTypedArray(
  field: TensorTarget,
  values: ArrayLike<number | bigint>,
  target: Float32Array,
  at: number,
): void {
  if (values.length !== field.width) {
    throw invalid(
      field,
      `must hold ${field.width} values (shape [${field.shape.join(', ')}]), got ${values.length}`,
    );
  }
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    throw invalid(field, 'must hold numbers, got 64-bit integers');
  }
  const numbers = values as ArrayLike<number>;
  // Integer arrays always fit float32's range; float arrays may carry NaN, Infinity or float64 extremes.
  if (numbers instanceof Float32Array || numbers instanceof Float64Array) {
    for (let i = 0; i < numbers.length; i++) {
      if (!isFloat32Finite(numbers[i])) {
        throw invalid(field, `${indexText([i])} must be a finite number within float32 range`);
      }
    }
  }
  target.set(numbers, at);
}

/** Returns the next write position. `index` is the position within the nesting, for messages only. */
function fillNested(
  field: TensorTarget,
  values: readonly unknown[],
  depth: number,
  target: Float32Array,
  at: number,
  index: number[],
): number {
  const size = field.shape[depth];
  if (values.length !== size) {
    const where = index.length === 0 ? '' : ` at ${indexText(index)}`;
    throw invalid(
      field,
      `must be an array of shape [${field.shape.join(', ')}]; got ${values.length} values${where} where ${size} belong`,
    );
  }
  const leaf = depth === field.shape.length - 1;
  for (let i = 0; i < size; i++) {
    const value = values[i];
    index.push(i);
    if (leaf) {
      if (typeof value !== 'number') {
        throw invalid(field, `${indexText(index)} must be a number, got ${describe(value)}`);
      }
      if (!isFloat32Finite(value)) {
        throw invalid(field, `${indexText(index)} must be a finite number within float32 range`);
      }
      target[at++] = value;
    } else {
      if (!Array.isArray(value)) {
        throw invalid(
          field,
          `${indexText(index)} must be an array of ${field.shape[depth + 1]} values (ragged or flat nesting), got ${describe(value)}`,
        );
      }
      at = fillNested(field, value, depth + 1, target, at, index);
    }
    index.pop();
  }
  return at;
}

function indexText(index: readonly number[]): string {
  return `index [${index.join('][')}]`;
}

function invalid(field: TensorTarget, problem: string): InputError {
  return new InputError(ErrorCodes.INPUT_FIELD_INVALID, `field ${field.path} ${problem}`, field.path);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
