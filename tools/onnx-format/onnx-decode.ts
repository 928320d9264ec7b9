/**
 * ONNX model decoder, the counterpart of onnx-proto.ts's encoder, for tools that rewrite models they did
 * not make (the quantizer). It decodes what those tools look at: opsets, metadata, the main graph's nodes,
 * initializers, inputs and outputs, and the names that subgraphs (If/Loop/Scan bodies) use from the outer
 * scope. Every message also keeps its exact original fields, so onnx-edit.ts writes back whatever it does
 * not change byte-for-byte, including fields this decoder does not know.
 *
 * Field numbers are those of onnx/onnx.proto (IR 10).
 */
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import {
  AttributeProtoField,
  GraphProtoField,
  ModelProtoField,
  NodeProtoField,
  OperatorSetIdField,
  StringStringEntryField,
  TensorDataType,
  TensorProtoField,
  ValueInfoProtoField,
  type OperatorSetId,
  type StringStringEntry,
} from './onnx-proto.js';
import {
  fieldBytes,
  fieldFloat,
  fieldInt,
  fieldString,
  readFields,
  repeatedFloats,
  repeatedInts,
  type ProtobufField,
} from './protobuf-reader.js';

/** TensorProto fields the encoder does not write. */
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;
const ATTRIBUTE_GRAPHS = 11;
const GRAPH_SPARSE_INITIALIZER = 15;

export interface DecodedTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Stored in a file next to the model rather than inside it. */
  external: boolean;
  /** The TensorProto's own fields, for reading its data. */
  fields: ProtobufField[];
}

export interface DecodedAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
}

export interface DecodedNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: DecodedAttribute[];
  /** NodeProto bytes as they were. */
  payload: Uint8Array;
  fields: ProtobufField[];
}

export interface DecodedValueInfo {
  name: string;
}

export interface DecodedGraph {
  name: string;
  nodes: DecodedNode[];
  initializers: DecodedTensor[];
  sparseInitializers: number;
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
  /** Names that nodes of nested subgraphs read (they may come from this graph's scope). */
  subgraphInputs: Set<string>;
  fields: ProtobufField[];
}

export interface DecodedModel {
  irVersion: number;
  opsetImports: OperatorSetId[];
  producerName: string;
  metadataProps: StringStringEntry[];
  graph: DecodedGraph;
  fields: ProtobufField[];
}

/** IG_ERR_ONNX_DECODE when `bytes` is not an ONNX ModelProto with a graph. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  try {
    return decodeModelUnchecked(bytes);
  } catch (error) {
    if (error instanceof InfergateError) throw error;
    throw new InfergateError(
      ErrorCodes.ONNX_DECODE,
      `not a valid ONNX model: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function decodeModelUnchecked(bytes: Uint8Array): DecodedModel {
  const fields = readFields(bytes);
  let irVersion = 0;
  let producerName = '';
  let graph: DecodedGraph | null = null;
  const opsetImports: OperatorSetId[] = [];
  const metadataProps: StringStringEntry[] = [];
  for (const field of fields) {
    switch (field.number) {
      case ModelProtoField.irVersion:
        irVersion = fieldInt(field);
        break;
      case ModelProtoField.producerName:
        producerName = fieldString(field);
        break;
      case ModelProtoField.graph:
        graph = decodeGraph(fieldBytes(field));
        break;
      case ModelProtoField.opsetImport:
        opsetImports.push(decodeOpset(fieldBytes(field)));
        break;
      case ModelProtoField.metadataProps:
        metadataProps.push(decodeEntry(fieldBytes(field)));
        break;
    }
  }
  if (graph === null || irVersion === 0) {
    throw new InfergateError(
      ErrorCodes.ONNX_DECODE,
      'not an ONNX model: no ir_version or no graph (is this an ONNX file?)',
    );
  }
  return { irVersion, opsetImports, producerName, metadataProps, graph, fields };
}

function decodeOpset(bytes: Uint8Array): OperatorSetId {
  let domain = '';
  let version = 0;
  for (const field of readFields(bytes)) {
    if (field.number === OperatorSetIdField.domain) domain = fieldString(field);
    else if (field.number === OperatorSetIdField.version) version = fieldInt(field);
  }
  return { domain, version };
}

function decodeEntry(bytes: Uint8Array): StringStringEntry {
  let key = '';
  let value = '';
  for (const field of readFields(bytes)) {
    if (field.number === StringStringEntryField.key) key = fieldString(field);
    else if (field.number === StringStringEntryField.value) value = fieldString(field);
  }
  return { key, value };
}

export function decodeGraph(bytes: Uint8Array): DecodedGraph {
  const fields = readFields(bytes);
  const graph: DecodedGraph = {
    name: '',
    nodes: [],
    initializers: [],
    sparseInitializers: 0,
    inputs: [],
    outputs: [],
    subgraphInputs: new Set(),
    fields,
  };
  for (const field of fields) {
    switch (field.number) {
      case GraphProtoField.node: {
        const node = decodeNode(fieldBytes(field));
        graph.nodes.push(node);
        for (const name of subgraphReads(node)) graph.subgraphInputs.add(name);
        break;
      }
      case GraphProtoField.name:
        graph.name = fieldString(field);
        break;
      case GraphProtoField.initializer:
        graph.initializers.push(decodeTensor(fieldBytes(field)));
        break;
      case GRAPH_SPARSE_INITIALIZER:
        graph.sparseInitializers++;
        break;
      case GraphProtoField.input:
        graph.inputs.push(decodeValueInfo(fieldBytes(field)));
        break;
      case GraphProtoField.output:
        graph.outputs.push(decodeValueInfo(fieldBytes(field)));
        break;
    }
  }
  return graph;
}

export function decodeNode(payload: Uint8Array): DecodedNode {
  const fields = readFields(payload);
  const node: DecodedNode = {
    name: '',
    opType: '',
    domain: '',
    inputs: [],
    outputs: [],
    attributes: [],
    payload,
    fields,
  };
  for (const field of fields) {
    switch (field.number) {
      case NodeProtoField.input:
        node.inputs.push(fieldString(field));
        break;
      case NodeProtoField.output:
        node.outputs.push(fieldString(field));
        break;
      case NodeProtoField.name:
        node.name = fieldString(field);
        break;
      case NodeProtoField.opType:
        node.opType = fieldString(field);
        break;
      case NodeProtoField.domain:
        node.domain = fieldString(field);
        break;
      case NodeProtoField.attribute:
        node.attributes.push(decodeAttribute(fieldBytes(field)));
        break;
    }
  }
  // 'ai.onnx' is an alias of the default domain.
  if (node.domain === 'ai.onnx') node.domain = '';
  return node;
}

function decodeAttribute(bytes: Uint8Array): DecodedAttribute {
  const attribute: DecodedAttribute = { name: '', type: 0 };
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case AttributeProtoField.name:
        attribute.name = fieldString(field);
        break;
      case AttributeProtoField.type:
        attribute.type = fieldInt(field);
        break;
      case AttributeProtoField.f:
        attribute.f = fieldFloat(field);
        break;
      case AttributeProtoField.i:
        attribute.i = fieldInt(field);
        break;
      case AttributeProtoField.s:
        attribute.s = fieldBytes(field);
        break;
      case AttributeProtoField.ints:
        (attribute.ints ??= []).push(...repeatedInts(field));
        break;
      case AttributeProtoField.floats:
        (attribute.floats ??= []).push(...repeatedFloats(field));
        break;
    }
  }
  return attribute;
}

/** Every node input read inside the node's subgraph attributes (g and graphs), at any depth. */
function subgraphReads(node: DecodedNode): string[] {
  const names: string[] = [];
  for (const field of node.fields) {
    if (field.number !== NodeProtoField.attribute) continue;
    for (const attributeField of readFields(fieldBytes(field))) {
      if (attributeField.number !== AttributeProtoField.g && attributeField.number !== ATTRIBUTE_GRAPHS)
        continue;
      const sub = decodeGraph(fieldBytes(attributeField));
      for (const subNode of sub.nodes) names.push(...subNode.inputs);
      names.push(...sub.subgraphInputs, ...sub.outputs.map((o) => o.name));
    }
  }
  return names;
}

function decodeTensor(bytes: Uint8Array): DecodedTensor {
  const fields = readFields(bytes);
  const tensor: DecodedTensor = { name: '', dataType: 0, dims: [], external: false, fields };
  for (const field of fields) {
    switch (field.number) {
      case TensorProtoField.name:
        tensor.name = fieldString(field);
        break;
      case TensorProtoField.dataType:
        tensor.dataType = fieldInt(field);
        break;
      case TensorProtoField.dims:
        tensor.dims.push(...repeatedInts(field));
        break;
      case TENSOR_DATA_LOCATION:
        if (fieldInt(field) === DATA_LOCATION_EXTERNAL) tensor.external = true;
        break;
      case TENSOR_EXTERNAL_DATA:
        tensor.external = true;
        break;
    }
  }
  return tensor;
}

function decodeValueInfo(bytes: Uint8Array): DecodedValueInfo {
  for (const field of readFields(bytes)) {
    if (field.number === ValueInfoProtoField.name) return { name: fieldString(field) };
  }
  return { name: '' };
}

/** The values of a float32 tensor (raw_data or float_data), in row-major order. */
export function tensorFloats(tensor: DecodedTensor): Float32Array {
  if (tensor.dataType !== TensorDataType.FLOAT) throw new RangeError(`${tensor.name} is not float32`);
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  let out: Float32Array | null = null;
  for (const field of tensor.fields) {
    if (field.number === TensorProtoField.rawData) {
      const raw = fieldBytes(field);
      if (raw.length !== count * 4) throw new RangeError(`${tensor.name}: raw_data has ${raw.length} bytes`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      out = Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    } else if (field.number === TensorProtoField.floatData) {
      const values = repeatedFloats(field);
      out = out === null ? Float32Array.from(values) : Float32Array.from([...out, ...values]);
    }
  }
  if (out === null || out.length !== count) {
    throw new RangeError(`${tensor.name}: expected ${count} float values, found ${out?.length ?? 0}`);
  }
  return out;
}

export function attribute(node: DecodedNode, name: string): DecodedAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
