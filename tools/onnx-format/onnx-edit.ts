/**
 * Writes a decoded ONNX model back with a few edits to its main graph, copying every field it does not
 * edit byte-for-byte from the original (other nodes, initializers, value_info, doc strings, functions,
 * training info, fields newer than this code). Replacement nodes take the place of the node they replace,
 * so the node list stays topologically sorted; new initializers follow the last original one.
 */
import type { DecodedModel, DecodedNode } from './onnx-decode.js';
import {
  GraphProtoField,
  ModelProtoField,
  NodeProtoField,
  OperatorSetIdField,
  StringStringEntryField,
  encodeNode,
  encodeTensor,
  type NodeProto,
  type OperatorSetId,
  type StringStringEntry,
  type TensorProto,
} from './onnx-proto.js';
import { fieldBytes, readFields } from './protobuf-reader.js';
import { ProtobufWriter } from './protobuf-writer.js';

export interface ModelEdits {
  /** Node index in the main graph → what replaces it (a decoded node stays as it was). */
  replaceNodes: Map<number, (NodeProto | Uint8Array)[]>;
  removeInitializers: Set<string>;
  /** TensorProto shapes, or already-encoded TensorProto bytes. */
  addInitializers: (TensorProto | Uint8Array)[];
  /** Graph inputs to drop (initializers listed as inputs, IR < 4 style, once they are gone). */
  removeInputs: Set<string>;
  addOpsets: OperatorSetId[];
  /** Set (replace or append) these metadata_props entries. */
  metadata: StringStringEntry[];
}

export function emptyEdits(): ModelEdits {
  return {
    replaceNodes: new Map(),
    removeInitializers: new Set(),
    addInitializers: [],
    removeInputs: new Set(),
    addOpsets: [],
    metadata: [],
  };
}

export function encodeEditedModel(model: DecodedModel, edits: ModelEdits): Uint8Array {
  const w = new ProtobufWriter();
  const pendingMetadata = new Map(edits.metadata.map((e) => [e.key, e.value]));
  const lastOpset = lastIndexOf(model.fields, ModelProtoField.opsetImport);
  const lastMetadata = lastIndexOf(model.fields, ModelProtoField.metadataProps);
  model.fields.forEach((field, index) => {
    if (field.number === ModelProtoField.graph) {
      w.bytes(ModelProtoField.graph, encodeGraph(model, edits));
    } else if (field.number === ModelProtoField.metadataProps) {
      const key = readFields(fieldBytes(field)).find((f) => f.number === StringStringEntryField.key);
      const name = key === undefined ? '' : new TextDecoder().decode(key.payload);
      if (pendingMetadata.has(name)) {
        writeEntry(w, name, pendingMetadata.get(name)!);
        pendingMetadata.delete(name);
      } else {
        w.raw(field.record);
      }
    } else {
      w.raw(field.record);
    }
    if (index === lastOpset || (lastOpset === -1 && index === model.fields.length - 1)) {
      for (const opset of edits.addOpsets) {
        w.message(ModelProtoField.opsetImport, (o) => {
          if (opset.domain !== '') o.string(OperatorSetIdField.domain, opset.domain);
          o.int64(OperatorSetIdField.version, opset.version);
        });
      }
    }
    if (index === lastMetadata) flushMetadata(w, pendingMetadata);
  });
  flushMetadata(w, pendingMetadata);
  return w.finish();
}

/** The node's bytes with its inputs replaced; every other field is kept as it was. */
export function withInputs(node: DecodedNode, inputs: readonly string[]): Uint8Array {
  const w = new ProtobufWriter();
  let written = false;
  for (const field of node.fields) {
    if (field.number !== NodeProtoField.input) {
      w.raw(field.record);
      continue;
    }
    if (written) continue;
    for (const input of inputs) w.string(NodeProtoField.input, input);
    written = true;
  }
  return w.finish();
}

function encodeGraph(model: DecodedModel, edits: ModelEdits): Uint8Array {
  const graph = model.graph;
  const w = new ProtobufWriter();
  const lastInitializer = lastIndexOf(graph.fields, GraphProtoField.initializer);
  const lastNode = lastIndexOf(graph.fields, GraphProtoField.node);
  const anchor = lastInitializer !== -1 ? lastInitializer : lastNode;
  let nodeIndex = 0;
  let initializerIndex = 0;
  let inputIndex = 0;
  graph.fields.forEach((field, index) => {
    switch (field.number) {
      case GraphProtoField.node: {
        const replacement = edits.replaceNodes.get(nodeIndex++);
        if (replacement === undefined) w.raw(field.record);
        else
          for (const node of replacement)
            w.bytes(GraphProtoField.node, node instanceof Uint8Array ? node : encodeNode(node));
        break;
      }
      case GraphProtoField.initializer: {
        const name = graph.initializers[initializerIndex++]!.name;
        if (!edits.removeInitializers.has(name)) w.raw(field.record);
        break;
      }
      case GraphProtoField.input: {
        const name = graph.inputs[inputIndex++]!.name;
        if (!edits.removeInputs.has(name)) w.raw(field.record);
        break;
      }
      default:
        w.raw(field.record);
    }
    if (index === anchor) {
      for (const tensor of edits.addInitializers) w.bytes(GraphProtoField.initializer, tensorBytes(tensor));
    }
  });
  if (anchor === -1) {
    for (const tensor of edits.addInitializers) w.bytes(GraphProtoField.initializer, tensorBytes(tensor));
  }
  return w.finish();
}

function tensorBytes(tensor: TensorProto | Uint8Array): Uint8Array {
  return tensor instanceof Uint8Array ? tensor : encodeTensor(tensor);
}

function writeEntry(w: ProtobufWriter, key: string, value: string): void {
  w.message(ModelProtoField.metadataProps, (e) =>
    e.string(StringStringEntryField.key, key).string(StringStringEntryField.value, value),
  );
}

function flushMetadata(w: ProtobufWriter, pending: Map<string, string>): void {
  for (const [key, value] of pending) writeEntry(w, key, value);
  pending.clear();
}

function lastIndexOf(fields: readonly { number: number }[], number: number): number {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i]!.number === number) return i;
  return -1;
}
