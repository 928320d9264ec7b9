import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import t from 'tap';
import { ErrorCodes } from '../daemon/errors.js';
import { dequantizeInt4 } from '../tools/onnx-format/matmul-nbits.js';
import { mulberry32, uniform } from '../tools/train/mulberry32.js';
import {
  decodeModel,
  tensorFloats,
  type DecodedModel,
  type DecodedTensor,
} from '../tools/onnx-format/onnx-decode.js';
import { emptyEdits, encodeEditedModel } from '../tools/onnx-format/onnx-edit.js';
import { onnx } from '../tools/onnx-format/onnx.js';
import { QUANTIZE_DEFAULTS, quantizeModel, type QuantizeOptions } from '../tools/quantize/quantize-model.js';
import { packageRoot, tempDir } from './helpers/onnx-fixtures.js';
import { MIXED_WIDTH, mixedModelBytes, noWeightModelBytes } from './helpers/quantize-fixtures.js';

const ROWS = 32;
const random = mulberry32(77);
const input = Float32Array.from({ length: ROWS * MIXED_WIDTH }, () => uniform(random, 1.5));
const fp32 = mixedModelBytes();
const options = (overrides: Partial<QuantizeOptions>): QuantizeOptions => ({
  ...QUANTIZE_DEFAULTS,
  ...overrides,
});

async function run(bytes: Uint8Array, level: 'basic' | 'all'): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes, {
    graphOptimizationLevel: level,
    intraOpNumThreads: 1,
  });
  const out = await session.run({ x: new Tensor('float32', input, [ROWS, MIXED_WIDTH]) });
  await session.release();
  return out.probabilities!.data as Float32Array;
}

type Weights = Record<'W1' | 'W2' | 'W3' | 'W4' | 'Wtiny', Float32Array> & { C1: Float32Array };

/** The fixture graph in float64 JavaScript, from the weights as the runtime multiplies by them. */
function reference(w: Weights, transposedW1: boolean): Float64Array {
  const out = new Float64Array(ROWS * 2);
  for (let r = 0; r < ROWS; r++) {
    const x = input.subarray(r * MIXED_WIDTH, (r + 1) * MIXED_WIDTH);
    const h1 = Array.from({ length: 40 }, (_, o) => {
      let s = 0;
      for (let i = 0; i < 24; i++) s += x[i]! * (transposedW1 ? w.W1[i * 40 + o]! : 0.5 * w.W1[o * 24 + i]!);
      return Math.tanh(s + (transposedW1 ? Math.fround(2 * w.C1[o]!) : 2 * w.C1[o]!));
    });
    const mm = (v: number[], m: Float32Array, n: number): number[] =>
      Array.from({ length: n }, (_, o) => v.reduce((s, vi, i) => s + vi * m[i * n + o]!, 0));
    const h2 = mm(h1, w.W2, 20).map((v) => Math.max(0, v));
    const h2b = mm(h1, w.W2, 20);
    const total = h2b.reduce((a, b) => a + b, 0);
    const logits3 = mm(
      h2.map((v) => v * total),
      w.W3,
      3,
    );
    const c4 = mm(logits3, w.Wtiny, 2);
    const logits = mm(logits3, w.W4, 2).map((v, i) => v + 0.25 * c4[i]!);
    const max = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - max));
    out[r * 2] = e[0]! / (e[0]! + e[1]!);
    out[r * 2 + 1] = e[1]! / (e[0]! + e[1]!);
  }
  return out;
}

const tensor = (model: DecodedModel, name: string): DecodedTensor =>
  model.graph.initializers.find((i) => i.name === name)!;

function rawOf(t: DecodedTensor): Uint8Array {
  return t.proto.rawData;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const original = decodeModel(fp32);
const fp32Weights = Object.fromEntries(
  ['W1', 'C1', 'W2', 'W3', 'W4', 'Wtiny'].map((n) => [n, tensorFloats(tensor(original, n))]),
) as Weights;

t.test(
  'INT4: Gemm(transB, alpha, beta) and MatMuls become MatMulNBits; the runtime matches the math',
  async (t) => {
    const { bytes, report } = quantizeModel(fp32, options({ bits: 4, blockSize: 16 }));
    t.same(
      report.quantized.map((q) => [q.node, q.k, q.n]),
      [
        ['dense_in', 24, 40],
        ['branch_a', 40, 20],
        ['branch_b', 40, 20],
        ['head', 20, 3],
        ['tiny', 3, 2],
        ['dense_out', 3, 2],
      ],
    );
    const model = decodeModel(bytes);
    const ops = model.graph.nodes.map((n) => `${n.domain === '' ? '' : `${n.domain}:`}${n.opType}`);
    t.equal(ops.filter((op) => op === 'com.microsoft:MatMulNBits').length, 6);
    t.equal(ops.filter((op) => op === 'MatMul').length, 1, 'the product of two activations stays a MatMul');
    t.ok(ops.includes('Mul'), 'beta × a computed C becomes a Mul');
    t.equal(ops.filter((op) => op === 'Add').length, 2, 'the Gemm biases become Adds');
    t.same(model.opsetImports, [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    t.notOk(
      model.graph.initializers.some((i) => ['W1', 'W2', 'W3', 'W4'].includes(i.name)),
      'the FP32 weights are gone',
    );
    t.equal(
      model.graph.initializers.filter((i) => i.name.startsWith('W2_int4')).length,
      2,
      'W2 stored once (B, scales)',
    );

    const dq = (name: string, k: number, n: number): Float32Array =>
      dequantizeInt4(
        rawOf(tensor(model, `${name}_int4`)),
        tensorFloats(tensor(model, `${name}_int4_scales`)),
        k,
        n,
        16,
      );
    const expected = reference(
      {
        W1: dq('W1', 24, 40),
        C1: fp32Weights.C1,
        W2: dq('W2', 40, 20),
        W3: dq('W3', 20, 3),
        W4: dq('W4', 3, 2),
        Wtiny: dq('Wtiny', 3, 2),
      },
      true,
    );
    const quantized = await run(bytes, 'all');
    t.ok(
      maxDiff(quantized, expected) < 1e-4,
      `onnxruntime = reference with the INT4 weights (${maxDiff(quantized, expected)})`,
    );
    const baseline = await run(fp32, 'all');
    t.ok(maxDiff(baseline, reference(fp32Weights, false)) < 1e-4, 'the FP32 reference is right');
    const drift = maxDiff(quantized, baseline);
    t.ok(drift > 0 && drift < 0.1, `INT4 output within 0.1 of FP32 (${drift.toFixed(4)})`);
  },
);

t.test('INT8: DequantizeLinear per channel in front of the unchanged MatMul/Gemm', async (t) => {
  const { bytes, report } = quantizeModel(fp32, options({ bits: 8, minSize: 8 }));
  t.same(
    report.quantized.map((q) => q.node),
    ['dense_in', 'branch_a', 'branch_b', 'head'],
  );
  t.same(
    report.skipped.map((s) => [s.node, s.reason]),
    [
      ['tiny', 'weight has 6 elements, fewer than --min-size 8'],
      ['dense_out', 'weight has 6 elements, fewer than --min-size 8'],
    ],
  );
  const model = decodeModel(bytes);
  const dql = model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear');
  t.same(
    dql.map((n) => [n.inputs[0], n.attributes.find((a) => a.name === 'axis')?.i]),
    [
      ['W1_int8', 0],
      ['W2_int8', 1],
      ['W3_int8', 1],
    ],
    'one per weight (W2 shared), axis = the output channel',
  );
  const dequantize = (name: string, rows: number, cols: number, axis: 0 | 1): Float32Array => {
    const q = new Int8Array(rawOf(tensor(model, `${name}_int8`)).slice().buffer);
    const s = tensorFloats(tensor(model, `${name}_scale`));
    return Float32Array.from(q, (v, i) => Math.fround(v * s[axis === 1 ? i % cols : Math.floor(i / cols)]!));
  };
  const weights: Weights = {
    ...fp32Weights,
    W1: dequantize('W1', 40, 24, 0),
    W2: dequantize('W2', 40, 20, 1),
    W3: dequantize('W3', 20, 3, 1),
  };
  const exact = await run(bytes, 'basic');
  t.ok(
    maxDiff(exact, reference(weights, false)) < 1e-4,
    'without ORT fusions: reference with the INT8 weights',
  );
  const fused = await run(bytes, 'all');
  const baseline = await run(fp32, 'all');
  t.ok(
    maxDiff(fused, baseline) < 0.02,
    `as the gateway runs it: within 0.02 of FP32 (${maxDiff(fused, baseline).toFixed(4)})`,
  );
});

t.test('everything that is not a quantized weight is kept as it was', async (t) => {
  const { bytes } = quantizeModel(fp32, options({ bits: 4, exclude: ['head'] }));
  const model = decodeModel(bytes);
  const payload = (m: DecodedModel, name: string): string =>
    Buffer.from(m.graph.nodes.find((n) => n.name === name)!.payload).toString('hex');
  for (const name of ['tanh', 'relu', 'col', 'row', 'outer_product', 'pool', 'softmax', 'head']) {
    t.equal(payload(model, name), payload(original, name), `node ${name} is byte-identical`);
  }
  for (const name of ['C1', 'axis1', 'axis2', 'W3']) {
    t.ok(
      Buffer.from(rawOf(tensor(model, name))).equals(Buffer.from(rawOf(tensor(original, name)))),
      `initializer ${name} kept`,
    );
  }
  const records = (m: DecodedModel, number: number): string[] =>
    m.graph.fields.filter((f) => f.number === number).map((f) => Buffer.from(f.record).toString('hex'));
  t.same(records(model, 13), records(original, 13), 'value_info kept');
  t.same(records(model, 11), records(original, 11), 'inputs kept');
  t.same(records(model, 12), records(original, 12), 'outputs kept');
  t.same(model.metadataProps[0], { key: 'author', value: 'fixture' });
  t.match(model.metadataProps[1], {
    key: 'infergate.quantization',
    value: /^int4 MatMulNBits block_size=32/,
  });
  const topLevel = (m: DecodedModel): string[] =>
    m.fields.filter((f) => [1, 2, 3, 6].includes(f.number)).map((f) => Buffer.from(f.record).toString('hex'));
  t.same(topLevel(model), topLevel(original), 'ir_version, producer and doc string kept');
});

t.test('refusals say what cannot be quantized', async (t) => {
  t.throws(() => quantizeModel(noWeightModelBytes(), options({})), {
    code: ErrorCodes.QUANTIZE_UNSUPPORTED,
    message:
      /nothing to quantize: no MatMul or Gemm node has a constant 2-D weight[\s\S]*multiply two computed tensors/,
  });
  t.throws(() => quantizeModel(mixedModelBytes(11), options({ bits: 8 })), {
    code: ErrorCodes.QUANTIZE_UNSUPPORTED,
    message: /needs ai.onnx opset >= 13, the model imports 11/,
  });
  t.doesNotThrow(() => quantizeModel(mixedModelBytes(11), options({ bits: 4 })), 'INT4 works at any opset');
  t.throws(() => quantizeModel(fp32, options({ minSize: 10_000 })), {
    code: ErrorCodes.QUANTIZE_UNSUPPORTED,
    message: /no weight could be quantized:\n {2}Gemm dense_in \(weight W1\): weight has 960 elements/,
  });
  t.throws(() => quantizeModel(fp32, options({ exclude: ['nope'] })), {
    code: ErrorCodes.QUANTIZE_UNSUPPORTED,
    message: /--exclude: no MatMul\/Gemm node .* named nope/,
  });
  t.throws(() => quantizeModel(new Uint8Array([1, 2, 3]), options({})), { code: ErrorCodes.ONNX_DECODE });

  // The same model with W1 moved to an external file.
  const edits = emptyEdits();
  edits.removeInitializers.add('W1');
  const external = onnx.TensorProto.encode({
    name: 'W1',
    dataType: onnx.TensorProto.DataType.FLOAT,
    dims: [40, 24],
    externalData: [{ key: 'location', value: 'weights.bin' }],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
  }).finish();
  edits.addInitializers.push(external);
  t.throws(() => quantizeModel(encodeEditedModel(original, edits), options({})), {
    code: ErrorCodes.QUANTIZE_UNSUPPORTED,
    message: /W1 is stored as external data/,
  });
});

t.test(
  'infergate quantize: exit 0, 64 on usage errors, 65 for a refused model, 66 for a missing file',
  async (t) => {
    const dir = tempDir(t);
    const cli = path.join(packageRoot, 'dist', 'bin', 'infergate.js');
    const input = path.join(dir, 'mixed.onnx');
    writeFileSync(input, fp32);
    writeFileSync(path.join(dir, 'mixed.json'), JSON.stringify({ name: 'mixed', labels: ['a', 'b'] }));
    const quantize = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [cli, 'quantize', ...args], { encoding: 'utf8', timeout: 30_000 });

    const ok = quantize(
      input,
      path.join(dir, 'mixed.int4.onnx'),
      '--bits',
      '4',
      '--block-size',
      '16',
      '--exclude',
      'tiny',
    );
    t.equal(ok.status, 0, String(ok.stderr));
    t.match(ok.stdout, /5 weights to int4 \(com\.microsoft MatMulNBits, block size 16, symmetric\)/);
    t.match(ok.stdout, /kept in FP32:\n {2}MatMul {2}tiny {2}weight Wtiny: excluded \(--exclude\)/);
    t.match(ok.stdout, /sha256 [0-9a-f]{64}/);
    const card = JSON.parse(readFileSync(path.join(dir, 'mixed.int4.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    t.match(
      card,
      { name: 'mixed', labels: ['a', 'b'], variant: 'int4', file: 'mixed.int4.onnx' },
      'card copied',
    );

    for (const args of [
      [input],
      [input, 'out.onnx'],
      [input, 'out.onnx', '--bits', '5'],
      [input, 'out.onnx', '--bits', '4', '--block-size', '24'],
    ]) {
      const usage = quantize(...args);
      t.equal(usage.status, 64, `usage error: ${args.join(' ')}`);
      t.match(usage.stderr, /usage: infergate quantize/);
    }
    t.equal(quantize(input, 'out.onnx', '--bits', '4', '--nope').status, 64, 'unknown option');

    const noWeights = path.join(dir, 'no-weights.onnx');
    writeFileSync(noWeights, noWeightModelBytes());
    const refused = quantize(noWeights, path.join(dir, 'x.onnx'), '--bits', '8');
    t.equal(refused.status, 65);
    t.match(refused.stderr, /IG_ERR_QUANTIZE_UNSUPPORTED: nothing to quantize/);
    const missing = quantize(path.join(dir, 'missing.onnx'), path.join(dir, 'x.onnx'), '--bits', '8');
    t.equal(missing.status, 66);
    t.match(missing.stderr, /IG_ERR_TOOL_INPUT: cannot read/);
  },
);
