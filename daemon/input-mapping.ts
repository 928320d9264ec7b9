/**
 * Turns a pipeline's input mapping into a row writer: event fields in, one Float32Array row out. Paths are
 * split and checked once at start; per event it reads own properties only and allocates nothing unless it
 * throws. A field that is absent or null takes its default; values are never coerced ("12" is not 12).
 * A path segment that is a decimal index (`features.3`) steps into an array or typed array.
 */
import type { InputMapping } from './config.js';
import { ConfigError, ErrorCodes, InputError, ModelError, type ConfigProblem } from './errors.js';
import { fillTensor, isFloat32Finite, type TensorTarget } from './input-mapping-tensor.js';
import type { EventFields } from './ports.js';

export interface CompiledInputMapping {
  /** Values per row: 1 per number or boolean field, one per listed value for a one-hot field. */
  readonly width: number;
  /**
   * One name per value in the row: the path, `path=value` for one-hot columns, `path[i]` for the values
   * of a tensor (flat row-major index). Built when first read.
   */
  readonly featureNames: readonly string[];
  /**
   * Writes `width` values at `target[offset]`. Throws InputError (IG_ERR_INPUT_FIELD_MISSING or
   * IG_ERR_INPUT_FIELD_INVALID, `field` = dotted path) on the first bad field; the row is then partly
   * written and must be discarded.
   */
  fill(event: EventFields, target: Float32Array, offset: number): void;
}

const ABSENT = Symbol('absent');
/** A canonical array index: no sign, no leading zeros, within the length an array can have. */
const INDEX_SEGMENT = /^(0|[1-9][0-9]{0,9})$/;

interface FieldBase {
  readonly path: string;
  readonly segments: readonly string[];
  /** Per segment: its array index when it reads as one, else -1. */
  readonly indices: readonly number[];
  /** Position of the field's first value within the row. */
  readonly column: number;
  readonly hasDefault: boolean;
}

interface ScalarField extends FieldBase {
  /** The default as a model value. */
  readonly fallback: number;
}

interface NumberField extends ScalarField {
  readonly kind: 'number';
}

interface BooleanField extends ScalarField {
  readonly kind: 'boolean';
}

interface OneHotField extends FieldBase {
  readonly kind: 'oneHot';
  /** Listed value → offset from `column`. */
  readonly columns: ReadonlyMap<string, number>;
  readonly width: number;
  /** Offset of the default value's column. */
  readonly fallback: number;
  /** The listed values, for error messages. */
  readonly allowed: string;
}

interface TensorField extends FieldBase {
  readonly kind: 'tensor';
  readonly shape: readonly number[];
  readonly width: number;
}

type CompiledField = NumberField | BooleanField | OneHotField | TensorField;

export function compileInputMapping(mapping: InputMapping): CompiledInputMapping {
  const problems: ConfigProblem[] = [];
  const fields: CompiledField[] = [];
  const names: (string | { tensor: string; width: number })[] = [];
  const featureNames = { push: (name: string) => names.push(name) };
  let column = 0;

  mapping.fields.forEach((field, index) => {
    const where = `input.fields[${index}]`;
    const segments = field.path.split('.');
    if (segments.some((segment) => segment === '')) {
      problems.push({ path: `${where}.path`, message: 'must be a dotted path of non-empty keys' });
    }
    const indices = segments.map((segment) => (INDEX_SEGMENT.test(segment) ? Number(segment) : -1));
    if (field.kind === 'tensor') {
      const width = field.shape.reduce((n, d) => n * d, 1);
      if (field.shape.length === 0 || !field.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
        problems.push({ path: `${where}.shape`, message: 'must be a list of positive integers' });
      }
      fields.push({
        path: field.path,
        segments,
        indices,
        column,
        hasDefault: false,
        kind: 'tensor',
        shape: field.shape,
        width,
      });
      names.push({ tensor: field.path, width });
      column += width;
      return;
    }
    const base = { path: field.path, segments, indices, column, hasDefault: field.default !== null };
    if (field.kind === 'number') {
      if (field.default !== null && !isFloat32Finite(field.default)) {
        problems.push({ path: `${where}.default`, message: 'must be a finite number within float32 range' });
      }
      fields.push({ ...base, kind: 'number', fallback: field.default ?? 0 });
      featureNames.push(field.path);
      column += 1;
    } else if (field.kind === 'boolean') {
      fields.push({ ...base, kind: 'boolean', fallback: field.default === true ? 1 : 0 });
      featureNames.push(field.path);
      column += 1;
    } else {
      const columns = new Map<string, number>();
      field.values.forEach((value, i) => {
        if (columns.has(value)) {
          problems.push({ path: `${where}.values`, message: `lists ${JSON.stringify(value)} twice` });
        }
        columns.set(value, i);
        featureNames.push(`${field.path}=${value}`);
      });
      if (field.values.length === 0) {
        problems.push({ path: `${where}.values`, message: 'must list at least one value' });
      }
      let fallback = 0;
      if (field.default !== null) {
        const defaultColumn = columns.get(field.default);
        if (defaultColumn === undefined) {
          problems.push({ path: `${where}.default`, message: 'must be one of the listed values' });
        } else {
          fallback = defaultColumn;
        }
      }
      fields.push({
        ...base,
        kind: 'oneHot',
        columns,
        width: field.values.length,
        fallback,
        allowed: field.values.join(', '),
      });
      column += field.values.length;
    }
  });
  if (fields.length === 0) problems.push({ path: 'input.fields', message: 'must map at least one field' });
  if (problems.length > 0) throw new ConfigError(problems);

  function fill(event: EventFields, target: Float32Array, offset: number): void {
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      const value = read(event, field);
      const at = offset + field.column;
      if (field.kind === 'tensor') {
        if (value === ABSENT) throw missing(field);
        fillTensor(field as TensorTarget, value, target, at);
      } else if (value === ABSENT) {
        if (!field.hasDefault) throw missing(field);
        if (field.kind === 'oneHot') writeOneHot(target, at, field.width, field.fallback);
        else target[at] = field.fallback;
      } else if (field.kind === 'number') {
        if (typeof value !== 'number') throw invalid(field, `must be a number, got ${describeType(value)}`);
        if (!isFloat32Finite(value)) throw invalid(field, 'must be a finite number within float32 range');
        target[at] = value;
      } else if (field.kind === 'boolean') {
        if (typeof value !== 'boolean') {
          throw invalid(field, `must be true or false, got ${describeType(value)}`);
        }
        target[at] = value ? 1 : 0;
      } else {
        if (typeof value !== 'string') {
          throw invalid(field, `must be a string, one of: ${field.allowed}; got ${describeType(value)}`);
        }
        const hot = field.columns.get(value);
        // The value itself stays out of the message: it is payload content.
        if (hot === undefined) throw invalid(field, `must be one of: ${field.allowed}`);
        writeOneHot(target, at, field.width, hot);
      }
    }
  }

  let expanded: string[] | null = null;
  return {
    width: column,
    get featureNames(): readonly string[] {
      expanded ??= names.flatMap((name) =>
        typeof name === 'string'
          ? [name]
          : Array.from({ length: name.width }, (_, i) => `${name.tensor}[${i}]`),
      );
      return expanded;
    },
    fill,
  };
}

function writeOneHot(target: Float32Array, at: number, width: number, hot: number): void {
  target.fill(0, at, at + width);
  target[at + hot] = 1;
}

/** Refuses to start a pipeline whose mapping and model disagree on the row width. */
export function assertModelWidth(
  compiled: CompiledInputMapping,
  modelInputWidth: number,
  pipelineName: string,
): void {
  if (compiled.width !== modelInputWidth) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `pipeline ${pipelineName}: input mapping yields ${compiled.width} values per row, ` +
        `but the model takes ${modelInputWidth}`,
    );
  }
}

/**
 * Own properties only, so `constructor` or `toString` never resolve through a prototype. An absent, null or
 * undefined step or leaf reads as absent, and so does an index past an array's end; stepping into an array
 * with anything but an index, or through anything but an object or array, is invalid.
 */
function read(event: EventFields, field: CompiledField): unknown {
  const segments = field.segments;
  let node: unknown = event;
  for (let i = 0; i < segments.length; i++) {
    if (node === null || node === undefined) return ABSENT;
    if (Array.isArray(node)) {
      const index = field.indices[i]!;
      if (index < 0) throw notAnObject(field, i, node);
      node = index < node.length ? (node[index] as unknown) : undefined;
      continue;
    }
    if (typeof node !== 'object') throw notAnObject(field, i, node);
    const key = segments[i];
    // A typed array's in-range indices are own properties; anything else in it is no field.
    if (!Object.hasOwn(node, key)) {
      if (field.indices[i]! < 0 && ArrayBuffer.isView(node)) throw notAnObject(field, i, node);
      return ABSENT;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node === null || node === undefined ? ABSENT : node;
}

function notAnObject(field: CompiledField, depth: number, node: unknown): InputError {
  return invalid(
    field,
    `${field.segments.slice(0, depth).join('.')} must be an object, got ${describeType(node)}`,
  );
}

function missing(field: CompiledField): InputError {
  return new InputError(
    ErrorCodes.INPUT_FIELD_MISSING,
    `field ${field.path} is missing and has no default`,
    field.path,
  );
}

function invalid(field: CompiledField, problem: string): InputError {
  return new InputError(ErrorCodes.INPUT_FIELD_INVALID, `field ${field.path} ${problem}`, field.path);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
