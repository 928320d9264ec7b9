/**
 * Reads an ONNX model for tools that rewrite models they did not make (the quantizer). The messages are
 * decoded by the generated code (onnx.ts); this module adds the views those tools look at (opsets,
 * metadata, the main graph's nodes, initializers, inputs and outputs, and the names that subgraphs —
 * If/Loop/Scan bodies — use from the outer scope) with int64 values as numbers. The model's and the main
 * graph's fields are also kept as their exact bytes, so onnx-edit.ts writes back whatever it does not
 * change byte-for-byte, including fields newer than the schema.
 */
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { int64ToNumber, onnx } from './onnx.js';
import { readRecords, type ProtobufRecord } from './protobuf-records.js';

/** Field numbers of onnx/onnx.proto that onnx-edit.ts splices by. */
export const ModelProtoField = { graph: 7, opsetImport: 8, metadataProps: 14 } as const;
export const GraphProtoField = { node: 1, initializer: 5, input: 11 } as const;
export const NodeProtoField = { input: 1 } as const;

export interface OperatorSetId {
  /** '' is the default `ai.onnx` domain. */
  domain: string;
  version: number;
}

export interface MetadataEntry {
  key: string;
  value: string;
}

export interface DecodedTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Stored in a file next to the model rather than inside it. */
  external: boolean;
  proto: onnx.TensorProto;
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
  /** '' for `ai.onnx` (also when the file spells it out). */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: DecodedAttribute[];
  /** NodeProto bytes as they were. */
  payload: Uint8Array;
  proto: onnx.NodeProto;
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
  /** The GraphProto's fields as they were. */
  fields: ProtobufRecord[];
}

export interface DecodedModel {
  irVersion: number;
  opsetImports: OperatorSetId[];
  producerName: string;
  metadataProps: MetadataEntry[];
  graph: DecodedGraph;
  /** The ModelProto's fields as they were. */
  fields: ProtobufRecord[];
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
  const input = plainBytes(bytes);
  const model = onnx.ModelProto.decode(input);
  const fields = readRecords(input);
  const graphs = fields.filter((f) => f.number === ModelProtoField.graph);
  const irVersion = int64ToNumber(model.irVersion);
  if (graphs.length === 0 || model.graph === null || irVersion === 0) {
    throw new InfergateError(
      ErrorCodes.ONNX_DECODE,
      'not an ONNX model: no ir_version or no graph (is this an ONNX file?)',
    );
  }
  // A reader merges repeated occurrences of a message field; a rewrite could not keep that meaning.
  if (graphs.length > 1) {
    throw new InfergateError(ErrorCodes.ONNX_DECODE, `the model has ${graphs.length} graph fields`);
  }
  return {
    irVersion,
    opsetImports: model.opsetImport.map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version),
    })),
    producerName: model.producerName,
    metadataProps: model.metadataProps.map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
    graph: decodeGraph(model.graph as onnx.GraphProto, graphs[0]!.payload),
    fields,
  };
}

/** `graph` is `payload` decoded; the i-th node in it is the i-th node field of `payload`. */
function decodeGraph(graph: onnx.GraphProto, payload: Uint8Array): DecodedGraph {
  const fields = readRecords(payload);
  const nodePayloads = fields.filter((f) => f.number === GraphProtoField.node).map((f) => f.payload);
  const nodes = graph.node.map((n, i) => nodeView(n as onnx.NodeProto, nodePayloads[i]!));
  return {
    name: graph.name,
    nodes,
    initializers: graph.initializer.map((t) => tensorView(t as onnx.TensorProto)),
    sparseInitializers: graph.sparseInitializer.length,
    inputs: graph.input.map((v) => ({ name: v.name ?? '' })),
    outputs: graph.output.map((v) => ({ name: v.name ?? '' })),
    subgraphInputs: new Set(graph.node.flatMap(subgraphReads)),
    fields,
  };
}

/** A NodeProto's bytes, decoded. */
export function decodeNode(payload: Uint8Array): DecodedNode {
  const input = plainBytes(payload);
  return nodeView(onnx.NodeProto.decode(input), input);
}

/**
 * The same bytes as a plain Uint8Array. protobufjs decodes bytes fields of a Buffer into Buffers, whose
 * slice() shares memory instead of copying as Uint8Array's does; of a Uint8Array, into subarray views.
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function nodeView(node: onnx.NodeProto, payload: Uint8Array): DecodedNode {
  return {
    name: node.name,
    opType: node.opType,
    domain: node.domain === 'ai.onnx' ? '' : node.domain,
    inputs: [...node.input],
    outputs: [...node.output],
    attributes: node.attribute.map((a) => attributeView(a as onnx.AttributeProto)),
    payload,
    proto: node,
  };
}

/** The attribute's name, type and the values it carries (decoded messages default absent scalars). */
function attributeView(a: onnx.AttributeProto): DecodedAttribute {
  const view: DecodedAttribute = { name: a.name, type: a.type };
  if (Object.hasOwn(a, 'f')) view.f = a.f;
  if (Object.hasOwn(a, 'i')) view.i = int64ToNumber(a.i);
  if (Object.hasOwn(a, 's')) view.s = a.s;
  if (a.ints.length > 0) view.ints = a.ints.map(int64ToNumber);
  if (a.floats.length > 0) view.floats = [...a.floats];
  return view;
}

/** Every node input read inside the node's subgraph attributes (g and graphs), at any depth. */
function subgraphReads(node: onnx.INodeProto): string[] {
  const names: string[] = [];
  for (const attribute of node.attribute ?? []) {
    for (const sub of [attribute.g, ...(attribute.graphs ?? [])]) {
      if (sub === null || sub === undefined) continue;
      for (const subNode of sub.node ?? []) names.push(...(subNode.input ?? []), ...subgraphReads(subNode));
      names.push(...(sub.output ?? []).map((o) => o.name ?? ''));
    }
  }
  return names;
}

function tensorView(tensor: onnx.TensorProto): DecodedTensor {
  return {
    name: tensor.name,
    dataType: tensor.dataType,
    dims: tensor.dims.map(int64ToNumber),
    external:
      tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || tensor.externalData.length > 0,
    proto: tensor,
  };
}

/** The values of a float32 tensor (raw_data or float_data), in row-major order. */
export function tensorFloats(tensor: DecodedTensor): Float32Array {
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) {
    throw new RangeError(`${tensor.name} is not float32`);
  }
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  const { proto } = tensor;
  if (Object.hasOwn(proto, 'rawData')) {
    const raw = proto.rawData;
    if (raw.length !== count * 4) throw new RangeError(`${tensor.name}: raw_data has ${raw.length} bytes`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  }
  if (proto.floatData.length !== count) {
    throw new RangeError(`${tensor.name}: expected ${count} float values, found ${proto.floatData.length}`);
  }
  return Float32Array.from(proto.floatData);
}

export function attribute(node: DecodedNode, name: string): DecodedAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
