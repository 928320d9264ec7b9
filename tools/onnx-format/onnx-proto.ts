/**
 * The subset of the ONNX protobuf schema (onnx/onnx.proto, IR 10) that infergate writes, as plain
 * TypeScript shapes, with the field numbers kept in tables so a decoder can share them. Field order in the
 * output is fixed (the order of the tables), which makes the encoding deterministic.
 *
 * Repeated scalars follow onnx.proto: TensorProto's *_data fields are packed, `dims` and attribute lists
 * are not. Tensor `rawData` must already be little-endian, as ONNX requires.
 */
import { ProtobufWriter } from './protobuf-writer.js';

/** TensorProto.DataType. INT4/UINT4 are listed by number because older schemas lack their names. */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
  UINT4: 21,
  INT4: 22,
} as const;

export type TensorDataTypeNumber = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export const ModelProtoField = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  domain: 4,
  modelVersion: 5,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadataProps: 14,
} as const;

export const OperatorSetIdField = { domain: 1, version: 2 } as const;

export const StringStringEntryField = { key: 1, value: 2 } as const;

export const GraphProtoField = {
  node: 1,
  name: 2,
  initializer: 5,
  docString: 10,
  input: 11,
  output: 12,
  valueInfo: 13,
} as const;

export const NodeProtoField = {
  input: 1,
  output: 2,
  name: 3,
  opType: 4,
  attribute: 5,
  docString: 6,
  domain: 7,
} as const;

export const AttributeProtoField = {
  name: 1,
  f: 2,
  i: 3,
  s: 4,
  t: 5,
  g: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  docString: 13,
  type: 20,
} as const;

export const TensorProtoField = {
  dims: 1,
  dataType: 2,
  floatData: 4,
  int32Data: 5,
  int64Data: 7,
  name: 8,
  rawData: 9,
  docString: 12,
} as const;

export const ValueInfoProtoField = { name: 1, type: 2, docString: 3 } as const;

export const TypeProtoField = { tensorType: 1, denotation: 6 } as const;

export const TypeProtoTensorField = { elemType: 1, shape: 2 } as const;

export const TensorShapeProtoField = { dim: 1 } as const;

export const DimensionField = { dimValue: 1, dimParam: 2, denotation: 3 } as const;

export interface OperatorSetId {
  /** '' (or absent) is the default `ai.onnx` domain. */
  domain: string;
  version: number;
}

export interface StringStringEntry {
  key: string;
  value: string;
}

export interface TensorProto {
  name: string;
  dataType: TensorDataTypeNumber;
  dims: readonly number[];
  /** Little-endian element bytes; sub-byte types packed low nibble first. */
  rawData?: Uint8Array;
  floatData?: ArrayLike<number>;
  int32Data?: readonly number[];
  int64Data?: readonly (number | bigint)[];
  docString?: string;
}

export type AttributeProto =
  | { name: string; type: typeof AttributeType.FLOAT; f: number }
  | { name: string; type: typeof AttributeType.INT; i: number | bigint }
  | { name: string; type: typeof AttributeType.STRING; s: Uint8Array }
  | { name: string; type: typeof AttributeType.TENSOR; t: TensorProto }
  | { name: string; type: typeof AttributeType.GRAPH; g: GraphProto }
  | { name: string; type: typeof AttributeType.FLOATS; floats: readonly number[] }
  | { name: string; type: typeof AttributeType.INTS; ints: readonly (number | bigint)[] }
  | { name: string; type: typeof AttributeType.STRINGS; strings: readonly Uint8Array[] };

export interface NodeProto {
  name: string;
  opType: string;
  /** '' for `ai.onnx`, `com.microsoft` for contrib operators such as MatMulNBits. */
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: readonly AttributeProto[];
  docString?: string;
}

/** A dimension: a fixed size, or a symbolic name (`batch`) for a dynamic one. */
export type Dimension = number | string;

export interface ValueInfoProto {
  name: string;
  /** Only tensor types are supported. */
  elemType: TensorDataTypeNumber;
  /** `null` leaves the shape unknown (no rank); `[]` is a scalar. */
  shape: readonly Dimension[] | null;
  docString?: string;
}

export interface GraphProto {
  name: string;
  nodes: readonly NodeProto[];
  initializers: readonly TensorProto[];
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
  valueInfo?: readonly ValueInfoProto[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  opsetImports: readonly OperatorSetId[];
  producerName: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProto;
  metadataProps?: readonly StringStringEntry[];
}

export function encodeModel(model: ModelProto): Uint8Array {
  const w = new ProtobufWriter();
  const f = ModelProtoField;
  w.int64(f.irVersion, model.irVersion);
  w.string(f.producerName, model.producerName);
  if (model.producerVersion !== undefined) w.string(f.producerVersion, model.producerVersion);
  if (model.domain !== undefined) w.string(f.domain, model.domain);
  if (model.modelVersion !== undefined) w.int64(f.modelVersion, model.modelVersion);
  if (model.docString !== undefined) w.string(f.docString, model.docString);
  w.message(f.graph, (g) => writeGraph(g, model.graph));
  for (const opset of model.opsetImports) {
    w.message(f.opsetImport, (o) => {
      if (opset.domain !== '') o.string(OperatorSetIdField.domain, opset.domain);
      o.int64(OperatorSetIdField.version, opset.version);
    });
  }
  for (const entry of model.metadataProps ?? []) {
    w.message(f.metadataProps, (e) =>
      e.string(StringStringEntryField.key, entry.key).string(StringStringEntryField.value, entry.value),
    );
  }
  return w.finish();
}

/** One NodeProto's bytes (the payload of a GraphProto `node` field). */
export function encodeNode(node: NodeProto): Uint8Array {
  const w = new ProtobufWriter();
  writeNode(w, node);
  return w.finish();
}

/** One TensorProto's bytes (the payload of a GraphProto `initializer` field). */
export function encodeTensor(tensor: TensorProto): Uint8Array {
  const w = new ProtobufWriter();
  writeTensor(w, tensor);
  return w.finish();
}

function writeGraph(w: ProtobufWriter, graph: GraphProto): void {
  const f = GraphProtoField;
  for (const node of graph.nodes) w.message(f.node, (n) => writeNode(n, node));
  w.string(f.name, graph.name);
  for (const tensor of graph.initializers) w.message(f.initializer, (t) => writeTensor(t, tensor));
  if (graph.docString !== undefined) w.string(f.docString, graph.docString);
  for (const input of graph.inputs) w.message(f.input, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.message(f.output, (v) => writeValueInfo(v, output));
  for (const info of graph.valueInfo ?? []) w.message(f.valueInfo, (v) => writeValueInfo(v, info));
}

function writeNode(w: ProtobufWriter, node: NodeProto): void {
  const f = NodeProtoField;
  for (const input of node.inputs) w.string(f.input, input);
  for (const output of node.outputs) w.string(f.output, output);
  w.string(f.name, node.name);
  w.string(f.opType, node.opType);
  for (const attribute of node.attributes) w.message(f.attribute, (a) => writeAttribute(a, attribute));
  if (node.docString !== undefined) w.string(f.docString, node.docString);
  if (node.domain !== '') w.string(f.domain, node.domain);
}

function writeAttribute(w: ProtobufWriter, attribute: AttributeProto): void {
  const f = AttributeProtoField;
  w.string(f.name, attribute.name);
  switch (attribute.type) {
    case AttributeType.FLOAT:
      w.float(f.f, attribute.f);
      break;
    case AttributeType.INT:
      w.int64(f.i, attribute.i);
      break;
    case AttributeType.STRING:
      w.bytes(f.s, attribute.s);
      break;
    case AttributeType.TENSOR:
      w.message(f.t, (t) => writeTensor(t, attribute.t));
      break;
    case AttributeType.GRAPH:
      w.message(f.g, (g) => writeGraph(g, attribute.g));
      break;
    case AttributeType.FLOATS:
      for (const value of attribute.floats) w.float(f.floats, value);
      break;
    case AttributeType.INTS:
      for (const value of attribute.ints) w.int64(f.ints, value);
      break;
    case AttributeType.STRINGS:
      for (const value of attribute.strings) w.bytes(f.strings, value);
      break;
  }
  w.int64(f.type, attribute.type);
}

function writeTensor(w: ProtobufWriter, tensor: TensorProto): void {
  const f = TensorProtoField;
  for (const dim of tensor.dims) w.int64(f.dims, dim);
  w.int64(f.dataType, tensor.dataType);
  if (tensor.floatData !== undefined) w.packedFloat(f.floatData, tensor.floatData);
  if (tensor.int32Data !== undefined) w.packedInt64(f.int32Data, tensor.int32Data);
  if (tensor.int64Data !== undefined) w.packedInt64(f.int64Data, tensor.int64Data);
  w.string(f.name, tensor.name);
  if (tensor.rawData !== undefined) w.bytes(f.rawData, tensor.rawData);
  if (tensor.docString !== undefined) w.string(f.docString, tensor.docString);
}

function writeValueInfo(w: ProtobufWriter, info: ValueInfoProto): void {
  w.string(ValueInfoProtoField.name, info.name);
  w.message(ValueInfoProtoField.type, (type) =>
    type.message(TypeProtoField.tensorType, (tensorType) => {
      tensorType.int64(TypeProtoTensorField.elemType, info.elemType);
      if (info.shape === null) return;
      const shape = info.shape;
      tensorType.message(TypeProtoTensorField.shape, (s) => {
        for (const dim of shape) {
          s.message(TensorShapeProtoField.dim, (d) => {
            if (typeof dim === 'number') d.int64(DimensionField.dimValue, dim);
            else d.string(DimensionField.dimParam, dim);
          });
        }
      });
    }),
  );
  if (info.docString !== undefined) w.string(ValueInfoProtoField.docString, info.docString);
}
