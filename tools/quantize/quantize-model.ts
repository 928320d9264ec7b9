/**
 * Rewrites an FP32 ONNX model's constant MatMul/Gemm weights to INT4 or INT8, keeping everything else as
 * it was (other nodes and initializers byte-for-byte, metadata, opsets, doc strings, subgraphs).
 *
 * - INT4: `com.microsoft` MatMulNBits, symmetric block-wise along K (block size an option), K padded to a
 *   whole block. Gemm(A, B, C) becomes MatMulNBits(A, alpha·B) followed by Add(beta·C); transB is
 *   handled by the packing, transA=1 is left in FP32 (reported).
 * - INT8: a standard DequantizeLinear (per output channel, symmetric int8, needs ai.onnx opset >= 13) in
 *   front of the unchanged MatMul/Gemm. ONNX Runtime 1.30 fuses it (at optimization level extended/all)
 *   into an 8-bit MatMulNBits that also quantizes activations at run time.
 * - Conv (INT8 only): the same per-output-channel DequantizeLinear (axis 0 of the [M, C/group, kH, kW]
 *   weight) in front of the unchanged Conv; the runtime dequantizes the weights and convolves in FP32,
 *   so the file shrinks and the numbers stay those of the FP32 kernel on the rounded weights. With
 *   --bits 4, Conv weights stay FP32 (reported): ONNX Runtime's CPU has no 4-bit convolution.
 *
 * A weight qualifies when it is a float32 initializer stored inside the file, 2-D for MatMul/Gemm. Weights that do not
 * (smaller than `minSize`, excluded by name, transA, fp16, …) stay FP32 and are reported with the reason;
 * a model where nothing qualifies is refused with IG_ERR_QUANTIZE_UNSUPPORTED, as is a model with
 * external data (the tensors would be left behind).
 */
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { quantizeInt8 } from './int8-weights.js';
import { MATMUL_NBITS_DOMAIN, quantizeInt4 } from '../onnx-format/matmul-nbits.js';
import {
  floatTensor,
  intAttribute,
  node as makeNode,
  opset,
  uint8Tensor,
} from '../onnx-format/onnx-builders.js';
import {
  attribute,
  decodeModel,
  decodeNode,
  tensorFloats,
  type DecodedGraph,
  type DecodedNode,
  type DecodedTensor,
} from '../onnx-format/onnx-decode.js';
import { emptyEdits, encodeEditedModel, withInputs, type ModelEdits } from '../onnx-format/onnx-edit.js';
import { dataTypeName, onnx } from '../onnx-format/onnx.js';

export interface QuantizeOptions {
  bits: 4 | 8;
  /** INT4 block size along K: a power of two >= 16. */
  blockSize: number;
  /** Weights with fewer elements stay FP32. */
  minSize: number;
  /** Node names (or, for unnamed nodes, their first output) to leave in FP32. */
  exclude: readonly string[];
  /** MatMulNBits accuracy_level (INT4 only); null leaves the attribute out (FP32 compute). */
  accuracyLevel: number | null;
}

export const QUANTIZE_DEFAULTS: QuantizeOptions = {
  bits: 4,
  blockSize: 32,
  minSize: 0,
  exclude: [],
  accuracyLevel: null,
};

export interface QuantizedWeight {
  node: string;
  opType: string;
  weight: string;
  /** [K, N] of the product. */
  k: number;
  n: number;
}

export interface SkippedWeight {
  node: string;
  opType: string;
  weight: string;
  reason: string;
}

export interface QuantizeReport {
  bits: 4 | 8;
  blockSize: number | null;
  quantized: QuantizedWeight[];
  skipped: SkippedWeight[];
  bytesIn: number;
  bytesOut: number;
}

const MIN_INT8_OPSET = 13;
const QUANTIZED_OPS = new Set(['MatMul', 'Gemm', 'Conv']);
const DataType = onnx.TensorProto.DataType;

export function quantizeModel(
  bytes: Uint8Array,
  options: QuantizeOptions,
): { bytes: Uint8Array; report: QuantizeReport } {
  checkOptions(options);
  const model = decodeModel(bytes);
  const graph = model.graph;
  const refuse = (message: string): never => {
    throw new InfergateError(ErrorCodes.QUANTIZE_UNSUPPORTED, message);
  };
  const external = graph.initializers.find((t) => t.external);
  if (external !== undefined) {
    refuse(
      `initializer ${external.name} is stored as external data; save the model with its tensors inside ` +
        `the file first (onnx.save_model(model, path, save_as_external_data=False), models under 2 GB)`,
    );
  }
  const defaultOpset =
    model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;

  const initializers = new Map<string, DecodedTensor>(graph.initializers.map((t) => [t.name, t]));
  const names = new Set<string>([
    ...graph.initializers.map((t) => t.name),
    ...graph.inputs.map((v) => v.name),
    ...graph.outputs.map((v) => v.name),
    ...graph.subgraphInputs,
  ]);
  for (const n of graph.nodes) for (const name of [n.name, ...n.inputs, ...n.outputs]) names.add(name);
  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };

  const edits = emptyEdits();
  const quantized: QuantizedWeight[] = [];
  const skipped: SkippedWeight[] = [];
  const int4Cache = new Map<string, { b: string; scales: string; k: number; n: number }>();
  const int8Cache = new Map<string, string>();
  const exclude = new Set(options.exclude);
  const usedExcludes = new Set<string>();

  graph.nodes.forEach((node, index) => {
    if (node.domain !== '' || !QUANTIZED_OPS.has(node.opType)) return;
    const label = node.name !== '' ? node.name : (node.outputs[0] ?? `#${index}`);
    const weightName = node.inputs[1] ?? '';
    const weight = initializers.get(weightName);
    if (weight === undefined) return;
    const skip = (reason: string): void => {
      skipped.push({ node: label, opType: node.opType, weight: weightName, reason });
    };
    const why = whyNot(node, weight, options, defaultOpset);
    if (exclude.has(node.name) || exclude.has(node.outputs[0] ?? '')) {
      usedExcludes.add(exclude.has(node.name) ? node.name : node.outputs[0]!);
      skip('excluded (--exclude)');
      return;
    }
    if (why !== null) {
      skip(why);
      return;
    }
    const transB = node.opType === 'Gemm' && (attribute(node, 'transB')?.i ?? 0) === 1;
    const conv = node.opType === 'Conv';
    // A Conv weight [M, C/group, kH, kW] quantizes as the matrix [M, C/group·kH·kW], one scale per row.
    const [rows, cols] = conv
      ? [weight.dims[0]!, weight.dims.slice(1).reduce((a, b) => a * b, 1)]
      : (weight.dims as [number, number]);
    const [k, n] = transB || conv ? [cols, rows] : [rows, cols];
    quantized.push({ node: label, opType: node.opType, weight: weightName, k, n });
    if (options.bits === 8) {
      const axis = transB || conv ? 0 : 1;
      const key = `${weightName}|${axis}`;
      const replacement: (onnx.INodeProto | Uint8Array)[] = [];
      let dequantized = int8Cache.get(key);
      if (dequantized === undefined) {
        const q = quantizeInt8(tensorFloats(weight), rows, cols, axis);
        const qName = unique(`${weightName}_int8`);
        const scaleName = unique(`${weightName}_scale`);
        const zeroName = unique(`${weightName}_zero_point`);
        dequantized = unique(`${weightName}_dequantized`);
        edits.addInitializers.push(
          { name: qName, dataType: DataType.INT8, dims: [...weight.dims], rawData: bytesOf(q.quantized) },
          floatTensor(scaleName, [q.scales.length], q.scales),
          {
            name: zeroName,
            dataType: DataType.INT8,
            dims: [q.scales.length],
            rawData: new Uint8Array(q.scales.length),
          },
        );
        replacement.push(
          makeNode('DequantizeLinear', [qName, scaleName, zeroName], [dequantized], {
            name: unique(`${label}_DequantizeLinear`),
            attributes: [intAttribute('axis', axis)],
          }),
        );
        int8Cache.set(key, dequantized);
      }
      const inputs = [...node.inputs];
      inputs[1] = dequantized;
      replacement.push(withInputs(node, inputs));
      edits.replaceNodes.set(index, replacement);
      return;
    }

    const alpha = node.opType === 'Gemm' ? (attribute(node, 'alpha')?.f ?? 1) : 1;
    const key = `${weightName}|${transB}|${alpha}`;
    let packed = int4Cache.get(key);
    if (packed === undefined) {
      const values = tensorFloats(weight);
      const kn = new Float32Array(k * n);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const v = alpha === 1 ? values[r * cols + c]! : Math.fround(alpha * values[r * cols + c]!);
          if (transB) kn[c * n + r] = v;
          else kn[r * n + c] = v;
        }
      }
      const q = quantizeInt4(kn, k, n, options.blockSize);
      const b = uint8Tensor(unique(`${weightName}_int4`), [n, q.kBlocks, options.blockSize / 2], q.packed);
      const scales = floatTensor(unique(`${weightName}_int4_scales`), [n, q.kBlocks], q.scales);
      edits.addInitializers.push(b, scales);
      packed = { b: b.name, scales: scales.name, k, n };
      int4Cache.set(key, packed);
    }
    edits.replaceNodes.set(index, int4Replacement(node, label, packed, options, initializers, edits, unique));
  });

  const unknownExcludes = [...exclude].filter((name) => !usedExcludes.has(name));
  if (unknownExcludes.length > 0) {
    refuse(
      `--exclude: no MatMul/Gemm node (or Conv) with a constant weight is named ${unknownExcludes.join(', ')}`,
    );
  }
  if (quantized.length === 0) refuse(nothingToQuantize(model.graph.nodes, skipped, initializers));

  removeUnusedWeights(model.graph, quantized, edits);
  if (options.bits === 4 && !model.opsetImports.some((o) => o.domain === MATMUL_NBITS_DOMAIN)) {
    edits.addOpsets.push(opset(MATMUL_NBITS_DOMAIN, 1));
  }
  edits.metadata.push({
    key: 'infergate.quantization',
    value:
      options.bits === 4
        ? `int4 MatMulNBits block_size=${options.blockSize} symmetric weights=${quantized.length}`
        : `int8 DequantizeLinear per-channel symmetric weights=${quantized.length}`,
  });
  const out = encodeEditedModel(model, edits);
  return {
    bytes: out,
    report: {
      bits: options.bits,
      blockSize: options.bits === 4 ? options.blockSize : null,
      quantized,
      skipped,
      bytesIn: bytes.length,
      bytesOut: out.length,
    },
  };
}

function checkOptions(options: QuantizeOptions): void {
  if (options.bits !== 4 && options.bits !== 8) throw new RangeError('bits must be 4 or 8');
  const b = options.blockSize;
  if (!Number.isInteger(b) || b < 16 || (b & (b - 1)) !== 0) {
    throw new RangeError(`block size must be a power of two >= 16, got ${b}`);
  }
  if (!Number.isInteger(options.minSize) || options.minSize < 0)
    throw new RangeError('min size must be >= 0');
  const level = options.accuracyLevel;
  if (level !== null && !(Number.isInteger(level) && level >= 0 && level <= 4)) {
    throw new RangeError('accuracy level must be 0 to 4');
  }
}

/** Why this weight stays FP32, or null when it can be quantized. */
function whyNot(
  node: DecodedNode,
  weight: DecodedTensor,
  options: QuantizeOptions,
  opset: number,
): string | null {
  if (weight.dataType !== DataType.FLOAT) {
    return `weight is ${dataTypeName(weight.dataType)}; only float32 weights are quantized`;
  }
  if (node.opType === 'Conv') {
    if (weight.dims.length < 3)
      return `weight has shape [${weight.dims.join(', ')}]; a Conv weight is [M, C, k...]`;
    if (options.bits === 4) {
      return 'Conv weights stay FP32 with --bits 4 (ONNX Runtime has no 4-bit CPU convolution); use --bits 8';
    }
  } else if (weight.dims.length !== 2) {
    return `weight has shape [${weight.dims.join(', ')}]; only 2-D weights are quantized`;
  }
  const size = weight.dims.reduce((a, b) => a * b, 1);
  if (size === 0) return 'weight is empty';
  if (size < options.minSize) return `weight has ${size} elements, fewer than --min-size ${options.minSize}`;
  if (node.opType === 'Gemm' && (attribute(node, 'transA')?.i ?? 0) !== 0) {
    return 'Gemm with transA=1 is not rewritten';
  }
  if (options.bits === 8 && opset < MIN_INT8_OPSET) {
    return `per-channel DequantizeLinear needs ai.onnx opset >= ${MIN_INT8_OPSET}, the model imports ${opset}; use --bits 4 or re-export with a newer opset`;
  }
  return null;
}

function int4Replacement(
  node: DecodedNode,
  label: string,
  packed: { b: string; scales: string; k: number; n: number },
  options: QuantizeOptions,
  initializers: Map<string, DecodedTensor>,
  edits: ModelEdits,
  unique: (base: string) => string,
): onnx.INodeProto[] {
  const output = node.outputs[0]!;
  const c = node.opType === 'Gemm' ? (node.inputs[2] ?? '') : '';
  const beta = attribute(node, 'beta')?.f ?? 1;
  const hasBias = c !== '' && beta !== 0;
  const product = hasBias ? unique(`${output}_product`) : output;
  const attributes = [
    intAttribute('K', packed.k),
    intAttribute('N', packed.n),
    intAttribute('bits', 4),
    intAttribute('block_size', options.blockSize),
    ...(options.accuracyLevel === null ? [] : [intAttribute('accuracy_level', options.accuracyLevel)]),
  ];
  const nodes: onnx.INodeProto[] = [
    makeNode('MatMulNBits', [node.inputs[0]!, packed.b, packed.scales], [product], {
      name: node.name !== '' ? node.name : unique(`${label}_MatMulNBits`),
      domain: MATMUL_NBITS_DOMAIN,
      attributes,
    }),
  ];
  if (!hasBias) return nodes;
  let bias = c;
  if (beta !== 1) {
    const tensor = initializers.get(c);
    if (tensor !== undefined && tensor.dataType === DataType.FLOAT) {
      const values = tensorFloats(tensor).map((v) => Math.fround(beta * v));
      const scaled = floatTensor(unique(`${c}_beta`), tensor.dims, values);
      edits.addInitializers.push(scaled);
      bias = scaled.name;
    } else {
      const betaName = unique(`${label}_beta`);
      edits.addInitializers.push(floatTensor(betaName, [], [beta]));
      bias = unique(`${c}_scaled`);
      nodes.push(makeNode('Mul', [c, betaName], [bias], { name: unique(`${label}_beta_Mul`) }));
    }
  }
  nodes.push(makeNode('Add', [product, bias], [output], { name: unique(`${label}_bias_Add`) }));
  return nodes;
}

/** Drops the FP32 originals of quantized weights that nothing reads any more. */
function removeUnusedWeights(
  graph: DecodedGraph,
  quantized: readonly QuantizedWeight[],
  edits: ModelEdits,
): void {
  const stillRead = new Set<string>([...graph.subgraphInputs, ...graph.outputs.map((o) => o.name)]);
  graph.nodes.forEach((node, index) => {
    const replacement = edits.replaceNodes.get(index);
    if (replacement === undefined) {
      for (const input of node.inputs) stillRead.add(input);
      return;
    }
    for (const r of replacement) {
      const inputs = r instanceof Uint8Array ? decodeNode(r).inputs : (r.input ?? []);
      for (const input of inputs) stillRead.add(input);
    }
  });
  for (const { weight } of quantized) {
    if (stillRead.has(weight)) continue;
    edits.removeInitializers.add(weight);
    if (graph.inputs.some((i) => i.name === weight)) edits.removeInputs.add(weight);
  }
}

function nothingToQuantize(
  nodes: readonly DecodedNode[],
  skipped: readonly SkippedWeight[],
  initializers: Map<string, DecodedTensor>,
): string {
  if (skipped.length > 0) {
    return (
      'no weight could be quantized:\n' +
      skipped.map((s) => `  ${s.opType} ${s.node} (weight ${s.weight}): ${s.reason}`).join('\n')
    );
  }
  const products = nodes.filter((n) => n.domain === '' && (n.opType === 'MatMul' || n.opType === 'Gemm'));
  const ops = [...new Set(nodes.map((n) => (n.domain === '' ? n.opType : `${n.domain}.${n.opType}`)))];
  const already = ops.filter((op) =>
    /MatMulNBits|DequantizeLinear|MatMulInteger|QLinear|DynamicQuantize/.test(op),
  );
  const dynamic = products.filter((n) => !initializers.has(n.inputs[1] ?? ''));
  return [
    'nothing to quantize: no MatMul or Gemm node has a constant 2-D weight (an initializer as its second input).',
    products.length > 0
      ? `  ${dynamic.length} MatMul/Gemm node(s) multiply two computed tensors (e.g. attention), which is not a weight.`
      : '  The graph has no MatMul or Gemm node.',
    already.length > 0 ? `  It already contains quantized operators: ${already.join(', ')}.` : '',
    `  Operators in the graph: ${ops.join(', ') || '(none)'}.`,
    '  Tree ensembles and linear models from ai.onnx.ml (TreeEnsemble*, LinearClassifier) are not quantized.',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function bytesOf(values: Int8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
