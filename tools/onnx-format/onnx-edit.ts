/**
 * Writes a decoded ONNX model back with a few edits to its main graph, copying every field it does not
 * edit byte-for-byte from the original (other nodes, initializers, value_info, doc strings, functions,
 * training info, fields newer than the schema, which the generated decoder would drop). New nodes,
 * initializers, opsets and metadata entries are encoded by the generated code. Replacement nodes take the
 * place of the node they replace, so the node list stays topologically sorted; new initializers follow
 * the last original one.
 */
import {
  GraphProtoField,
  ModelProtoField,
  NodeProtoField,
  type DecodedModel,
  type DecodedNode,
  type MetadataEntry,
} from './onnx-decode.js';
import { onnx } from './onnx.js';
import { lengthDelimitedRecord, readRecords, type ProtobufRecord } from './protobuf-records.js';

export interface ModelEdits {
  /** Node index in the main graph → what replaces it: NodeProto messages or encoded NodeProto bytes. */
  replaceNodes: Map<number, (onnx.INodeProto | Uint8Array)[]>;
  removeInitializers: Set<string>;
  /** TensorProto messages, or already-encoded TensorProto bytes. */
  addInitializers: (onnx.ITensorProto | Uint8Array)[];
  /** Graph inputs to drop (initializers listed as inputs, IR < 4 style, once they are gone). */
  removeInputs: Set<string>;
  addOpsets: onnx.IOperatorSetIdProto[];
  /** Set (replace or append) these metadata_props entries. */
  metadata: MetadataEntry[];
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
  const out: Uint8Array[] = [];
  const pendingMetadata = new Map(edits.metadata.map((e) => [e.key, e.value]));
  const flushMetadata = (): void => {
    if (pendingMetadata.size === 0) return;
    const metadataProps = [...pendingMetadata].map(([key, value]) => ({ key, value }));
    out.push(onnx.ModelProto.encode({ metadataProps }).finish());
    pendingMetadata.clear();
  };
  const lastOpset = lastIndexOf(model.fields, ModelProtoField.opsetImport);
  const lastMetadata = lastIndexOf(model.fields, ModelProtoField.metadataProps);
  model.fields.forEach((field, index) => {
    if (field.number === ModelProtoField.graph) {
      out.push(lengthDelimitedRecord(ModelProtoField.graph, encodeGraph(model, edits)));
    } else if (field.number === ModelProtoField.metadataProps) {
      const { key } = onnx.StringStringEntryProto.decode(field.payload);
      const replacement = pendingMetadata.get(key);
      pendingMetadata.delete(key);
      if (replacement === undefined) out.push(field.record);
      else out.push(onnx.ModelProto.encode({ metadataProps: [{ key, value: replacement }] }).finish());
    } else {
      out.push(field.record);
    }
    if (index === lastOpset || (lastOpset === -1 && index === model.fields.length - 1)) {
      if (edits.addOpsets.length > 0)
        out.push(onnx.ModelProto.encode({ opsetImport: edits.addOpsets }).finish());
    }
    if (index === lastMetadata) flushMetadata();
  });
  flushMetadata();
  return concat(out);
}

/** The node's bytes with its inputs replaced; every other field is kept as it was. */
export function withInputs(node: DecodedNode, inputs: readonly string[]): Uint8Array {
  const out: Uint8Array[] = [];
  let written = false;
  for (const field of readRecords(node.payload)) {
    if (field.number !== NodeProtoField.input) {
      out.push(field.record);
    } else if (!written) {
      out.push(onnx.NodeProto.encode({ input: [...inputs] }).finish());
      written = true;
    }
  }
  return concat(out);
}

function encodeGraph(model: DecodedModel, edits: ModelEdits): Uint8Array {
  const graph = model.graph;
  const out: Uint8Array[] = [];
  const lastInitializer = lastIndexOf(graph.fields, GraphProtoField.initializer);
  const anchor = lastInitializer !== -1 ? lastInitializer : lastIndexOf(graph.fields, GraphProtoField.node);
  const addInitializers = (): void => {
    for (const tensor of edits.addInitializers) {
      out.push(
        tensor instanceof Uint8Array
          ? lengthDelimitedRecord(GraphProtoField.initializer, tensor)
          : onnx.GraphProto.encode({ initializer: [tensor] }).finish(),
      );
    }
  };
  let nodeIndex = 0;
  let initializerIndex = 0;
  let inputIndex = 0;
  graph.fields.forEach((field, index) => {
    switch (field.number) {
      case GraphProtoField.node: {
        const replacement = edits.replaceNodes.get(nodeIndex++);
        if (replacement === undefined) out.push(field.record);
        else
          for (const node of replacement) {
            out.push(
              node instanceof Uint8Array
                ? lengthDelimitedRecord(GraphProtoField.node, node)
                : onnx.GraphProto.encode({ node: [node] }).finish(),
            );
          }
        break;
      }
      case GraphProtoField.initializer: {
        const name = graph.initializers[initializerIndex++]!.name;
        if (!edits.removeInitializers.has(name)) out.push(field.record);
        break;
      }
      case GraphProtoField.input: {
        const name = graph.inputs[inputIndex++]!.name;
        if (!edits.removeInputs.has(name)) out.push(field.record);
        break;
      }
      default:
        out.push(field.record);
    }
    if (index === anchor) addInitializers();
  });
  if (anchor === -1) addInitializers();
  return concat(out);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function lastIndexOf(fields: readonly ProtobufRecord[], number: number): number {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i]!.number === number) return i;
  return -1;
}
