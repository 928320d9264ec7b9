import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { quantizeInt4 } from '../tools/matmul-nbits.js';
import {
  buildSampleModels,
  modelCardJson,
  writeSampleModels,
  type ModelCard,
} from '../tools/sample-models.js';
import { modelsDir, packageRoot, tempDir } from './helpers/onnx-fixtures.js';

const NAMES = ['atm-risk', 'inspection'];

/** Occurrences of a NodeProto op_type field (field 4, length-delimited) with exactly this value. */
function countOpType(onnx: Uint8Array, opType: string): number {
  const needle = Buffer.concat([Buffer.from([0x22, opType.length]), Buffer.from(opType)]);
  const haystack = Buffer.from(onnx);
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

t.test('regenerating gives byte-identical files to the committed models', async (t) => {
  const dir = tempDir(t);
  await writeSampleModels(dir);
  for (const name of NAMES) {
    for (const file of [`${name}.onnx`, `${name}.json`]) {
      const fresh = readFileSync(path.join(dir, file));
      const committed = readFileSync(path.join(modelsDir, file));
      t.ok(fresh.equals(committed), `${file} is byte-identical (run npm run models and commit if not)`);
    }
  }
  const again = buildSampleModels();
  const first = buildSampleModels();
  for (let i = 0; i < again.length; i++) {
    t.ok(Buffer.from(again[i]!.onnx).equals(Buffer.from(first[i]!.onnx)), 'two builds in one process agree');
    t.equal(modelCardJson(again[i]!.card), modelCardJson(first[i]!.card));
  }
});

t.test('the CLI writes the same files to the directory it is given', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(packageRoot, 'dist', 'tools', 'make-sample-models.js');
  const result = spawnSync(process.execPath, [cli, dir], { encoding: 'utf8', timeout: 30_000 });
  t.equal(result.status, 0, result.stderr);
  for (const name of NAMES) {
    const fresh = readFileSync(path.join(dir, `${name}.onnx`));
    t.ok(fresh.equals(readFileSync(path.join(modelsDir, `${name}.onnx`))), `${name}.onnx`);
    t.match(result.stdout, `${name}: `);
  }
});

t.test('weights are INT4 MatMulNBits (com.microsoft), biases and normalization FP32', async (t) => {
  for (const name of NAMES) {
    const onnx = readFileSync(path.join(modelsDir, `${name}.onnx`));
    t.equal(countOpType(onnx, 'MatMulNBits'), 3, `${name}: three MatMulNBits layers`);
    t.equal(countOpType(onnx, 'MatMul'), 0, `${name}: no FP32 MatMul`);
    t.equal(countOpType(onnx, 'Sub'), 1, `${name}: normalization Sub`);
    t.equal(countOpType(onnx, 'Mul'), 1, `${name}: normalization Mul`);
    t.ok(onnx.includes(Buffer.from('com.microsoft')), `${name}: imports the com.microsoft opset`);
    t.ok(onnx.length < 16 * 1024, `${name}: small (${onnx.length} bytes)`);
  }
});

t.test('model cards: sha256 of the file, inputs in the order config/default.yaml maps them', async (t) => {
  const config = parse(readFileSync(path.join(packageRoot, 'config', 'default.yaml'), 'utf8')) as {
    pipelines: { name: string; input: { fields: unknown[] }; decide: { argmax?: { labels: string[] } } }[];
  };
  for (const name of NAMES) {
    const onnx = readFileSync(path.join(modelsDir, `${name}.onnx`));
    const card = JSON.parse(readFileSync(path.join(modelsDir, `${name}.json`), 'utf8')) as ModelCard;
    t.equal(card.sha256, createHash('sha256').update(onnx).digest('hex'), `${name}: sha256`);
    t.equal(card.bytes, onnx.length);
    t.equal(card.generatedBy, 'tools/make-sample-models.ts');
    t.type(card.seed, 'number');
    t.equal(card.input.name, 'features');
    t.equal(card.input.shape[1], card.inputs.length);
    t.ok(
      card.inputs.every((input) => input.unit !== '' && input.std > 0),
      `${name}: every input has a unit and a std`,
    );
    const pipeline = config.pipelines.find((p) => p.name === name)!;
    const mapped = pipeline.input.fields.flatMap((field) => {
      if (typeof field === 'string') return [field];
      const f = field as { path: string; oneHot?: string[] };
      return f.oneHot === undefined ? [f.path] : f.oneHot.map((value) => `${f.path}=${value}`);
    });
    t.same(
      card.inputs.map((input) => input.name),
      mapped,
      `${name}: card inputs match the pipeline mapping`,
    );
    if (pipeline.decide.argmax !== undefined) t.same(card.labels, pipeline.decide.argmax.labels);
  }
  const atm = JSON.parse(readFileSync(path.join(modelsDir, 'atm-risk.json'), 'utf8')) as ModelCard;
  t.same(atm.output, { name: 'score', type: 'float32', shape: ['batch', 1] });
  t.equal(atm.labels, undefined);
  const inspection = JSON.parse(readFileSync(path.join(modelsDir, 'inspection.json'), 'utf8')) as ModelCard;
  t.same(inspection.output, { name: 'probabilities', type: 'float32', shape: ['batch', 4] });
});

t.test('INT4 packing: low nibble first, zero point 8, K padded to the block with zeros', async (t) => {
  // K = 3, N = 2, block 16: one block per column, 13 padding values quantized to 8.
  const weights = [
    [7, 0.6],
    [-7, -1],
    [0, 1],
  ].flat();
  const q = quantizeInt4(weights, 3, 2, 16);
  t.equal(q.kBlocks, 1);
  t.same(Array.from(q.scales), [1, 1 / 7].map(Math.fround));
  t.equal(q.packed.length, 2 * 1 * 8);
  // Column 0: q = [15, 1, 8, 8, ...] → bytes 0x1f, 0x88, ...
  t.same(Array.from(q.packed.subarray(0, 8)), [0x1f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88]);
  // Column 1: scale 1/7; 0.6 → round(4.2) = 4 → 12; -1 → -7 → 1; 1 → 7 → 15.
  t.same(Array.from(q.packed.subarray(8, 10)), [0x1c, 0x8f]);
  const s = Math.fround(1 / 7);
  const dequantized = [7, 4 * s, -7, -7 * s, 0, 7 * s].map(Math.fround);
  t.same(Array.from(q.dequantized), dequantized, 'dequantized weights are (q - 8) × scale');
  t.throws(() => quantizeInt4(weights, 3, 2, 24), RangeError, 'block size must be a power of two');
});
