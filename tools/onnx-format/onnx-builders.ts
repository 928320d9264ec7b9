/**
 * Short constructors for the ONNX messages (onnx.ts), so graph-building code reads like the graph.
 * Tensor payloads are written as little-endian raw_data, independent of the host's byte order. Empty
 * strings are left out rather than written, as onnx.proto's default already is ''.
 */
import { onnx } from './onnx.js';

const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** A dimension: a fixed size, or a symbolic name (`batch`) for a dynamic one. */
export type Dimension = number | string;

/** What the tensor constructors return: a TensorProto whose name is set. */
export type NamedTensor = onnx.ITensorProto & { name: string };

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): NamedTensor {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dataType: DataType.FLOAT, dims: [...dims], rawData: raw };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): NamedTensor {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return { name, dataType: DataType.INT64, dims: [...dims], rawData: raw };
}

export function uint8Tensor(name: string, dims: readonly number[], values: Uint8Array): NamedTensor {
  checkElementCount(name, dims, values.length);
  return { name, dataType: DataType.UINT8, dims: [...dims], rawData: values };
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: { name?: string; domain?: string; attributes?: readonly onnx.IAttributeProto[] } = {},
): onnx.INodeProto {
  const built: onnx.INodeProto = {
    input: [...inputs],
    output: [...outputs],
    name: options.name ?? outputs[0] ?? opType,
    opType,
    attribute: [...(options.attributes ?? [])],
  };
  // '' is the default ai.onnx domain; `com.microsoft` for contrib operators such as MatMulNBits.
  if (options.domain !== undefined && options.domain !== '') built.domain = options.domain;
  return built;
}

export function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, i: value, type: AttributeType.INT };
}

export function intsAttribute(name: string, values: readonly number[]): onnx.IAttributeProto {
  return { name, ints: [...values], type: AttributeType.INTS };
}

export function floatAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, f: value, type: AttributeType.FLOAT };
}

/** A tensor-typed graph input or output; `null` leaves the shape unknown (no rank), `[]` is a scalar. */
export function tensorValue(
  name: string,
  elemType: number,
  shape: readonly Dimension[] | null,
): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (shape !== null) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

export function floatTensorValue(name: string, shape: readonly Dimension[]): onnx.IValueInfoProto {
  return tensorValue(name, DataType.FLOAT, shape);
}

/** An operator set import; '' is the default `ai.onnx` domain. */
export function opset(domain: string, version: number): onnx.IOperatorSetIdProto {
  return domain === '' ? { version } : { domain, version };
}

function checkElementCount(name: string, dims: readonly number[], count: number): void {
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (expected !== count) {
    throw new RangeError(`tensor ${name}: dims [${dims.join(', ')}] need ${expected} values, got ${count}`);
  }
}
