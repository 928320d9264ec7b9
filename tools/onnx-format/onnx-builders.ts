/**
 * Short constructors for the ONNX shapes in onnx-proto.ts, so graph-building code reads like the graph.
 * Tensor payloads are written as little-endian raw_data, independent of the host's byte order.
 */
import {
  AttributeType,
  TensorDataType,
  type AttributeProto,
  type Dimension,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-proto.js';

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dataType: TensorDataType.FLOAT, dims, rawData: raw };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return { name, dataType: TensorDataType.INT64, dims, rawData: raw };
}

export function uint8Tensor(name: string, dims: readonly number[], values: Uint8Array): TensorProto {
  checkElementCount(name, dims, values.length);
  return { name, dataType: TensorDataType.UINT8, dims, rawData: values };
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: { name?: string; domain?: string; attributes?: readonly AttributeProto[] } = {},
): NodeProto {
  return {
    name: options.name ?? outputs[0] ?? opType,
    opType,
    domain: options.domain ?? '',
    inputs,
    outputs,
    attributes: options.attributes ?? [],
  };
}

export function intAttribute(name: string, value: number): AttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

export function intsAttribute(name: string, values: readonly number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints: values };
}

export function floatTensorValue(name: string, shape: readonly Dimension[]): ValueInfoProto {
  return { name, elemType: TensorDataType.FLOAT, shape };
}

function checkElementCount(name: string, dims: readonly number[], count: number): void {
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (expected !== count) {
    throw new RangeError(`tensor ${name}: dims [${dims.join(', ')}] need ${expected} values, got ${count}`);
  }
}
