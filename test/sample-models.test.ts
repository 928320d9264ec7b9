/**
 * The shipped sample models and data, checked without retraining (the full byte-for-byte regeneration,
 * training included, is `npm run models -- --check`): the cheap steps regenerate identically, the cards
 * describe their files and the pipelines of config/default.yaml, the quality gates hold, and `infergate
 * eval` on the shipped test split reproduces the cards' numbers.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { quantizeInt4 } from '../tools/onnx-format/matmul-nbits.js';
import type { ModelCard } from '../tools/common/model-card.js';
import { mulberry32 } from '../tools/train/mulberry32.js';
import { decodeModel } from '../tools/onnx-format/onnx-decode.js';
import { quantizeModel } from '../tools/quantize/quantize-model.js';
import { formatCsv } from '../tools/common/csv.js';
import { sampleDataset } from '../tools/dev/sample-datasets.js';
import { SAMPLE_MODEL_SPECS } from '../tools/dev/sample-model-specs.js';
import { dataFile, variantFile, VARIANTS } from '../tools/dev/sample-models.js';
import { trainMlp } from '../tools/train/train-mlp.js';
import { modelsDir, packageRoot } from './helpers/onnx-fixtures.js';

const read = (file: string): Buffer => readFileSync(path.join(modelsDir, file));
const card = (name: string, variant: (typeof VARIANTS)[number]): ModelCard =>
  JSON.parse(read(variantFile(name, variant).replace(/\.onnx$/, '.json')).toString('utf8')) as ModelCard;
const ops = (bytes: Uint8Array): string[] => decodeModel(bytes).graph.nodes.map((n) => n.opType);

t.test('the test-split data regenerates byte-for-byte', async (t) => {
  for (const spec of SAMPLE_MODEL_SPECS) {
    const dataset = sampleDataset(spec);
    const csv = formatCsv(
      dataset.columns,
      dataset.records.filter((_, i) => dataset.splits[i] === 'test'),
    );
    t.ok(
      Buffer.from(csv).equals(read(dataFile(spec.name))),
      `${dataFile(spec.name)} (run npm run models if not)`,
    );
    const splits = new Set(dataset.splits);
    t.same([...splits].sort(), ['test', 'train', 'validation']);
    if (spec.name === 'atm-risk') {
      const cardsBySplit = new Map<string, Set<unknown>>();
      dataset.records.forEach((r, i) => {
        const set = cardsBySplit.get(dataset.splits[i]!) ?? new Set();
        set.add(r.card);
        cardsBySplit.set(dataset.splits[i]!, set);
      });
      const test = cardsBySplit.get('test')!;
      t.notOk(
        [...cardsBySplit.get('train')!].some((c) => test.has(c)),
        'no card is in both train and test',
      );
      const rate = dataset.labels.reduce((a, b) => a + b, 0) / dataset.labels.length;
      t.ok(rate >= 0.01 && rate <= 0.03, `fraud rate ${(rate * 100).toFixed(2)}% is 1–3%`);
    }
  }
});

t.test('quantizing the shipped FP32 models gives the shipped INT8 and INT4 bytes', async (t) => {
  for (const spec of SAMPLE_MODEL_SPECS) {
    const fp32 = read(variantFile(spec.name, 'fp32'));
    for (const bits of [8, 4] as const) {
      const { bytes } = quantizeModel(fp32, {
        bits,
        blockSize: spec.blockSize,
        minSize: 0,
        exclude: [],
        accuracyLevel: null,
      });
      t.ok(
        Buffer.from(bytes).equals(read(variantFile(spec.name, bits === 4 ? 'int4' : 'int8'))),
        `${spec.name} INT${bits}`,
      );
    }
    t.same(
      ops(fp32),
      [
        'Relu',
        'Add',
        'Log',
        'Where',
        'Sub',
        'Mul',
        'MatMul',
        'Add',
        'Relu',
        'MatMul',
        'Add',
        'Relu',
        'MatMul',
        'Add',
        spec.outputWidth === 1 ? 'Sigmoid' : 'Softmax',
      ].filter((op, i) => spec.features.some((f) => f.transform === 'log1p') || i >= 4),
      `${spec.name}: preprocessing and three dense layers in the graph`,
    );
    const int4 = ops(read(variantFile(spec.name, 'int4')));
    t.equal(int4.filter((op) => op === 'MatMulNBits').length, 3, `${spec.name}: three MatMulNBits`);
    t.equal(int4.filter((op) => op === 'MatMul').length, 0, `${spec.name}: no FP32 MatMul left`);
    t.equal(ops(read(variantFile(spec.name, 'int8'))).filter((op) => op === 'DequantizeLinear').length, 3);
    t.ok(read(variantFile(spec.name, 'int4')).length < 8 * 1024, `${spec.name}: the INT4 file is small`);
  }
});

t.test('model cards describe their files and the pipelines of config/default.yaml', async (t) => {
  const config = parse(readFileSync(path.join(packageRoot, 'config', 'default.yaml'), 'utf8')) as {
    models: Record<string, { path: string }>;
    pipelines: { name: string; input: { fields: unknown[] }; decide: Record<string, unknown> }[];
  };
  for (const spec of SAMPLE_MODEL_SPECS) {
    t.equal(
      path.basename(config.models[spec.name]!.path),
      `${spec.name}.onnx`,
      'the pipeline loads the INT4 file',
    );
    const pipeline = config.pipelines.find((p) => p.name === spec.name)!;
    const mapped = pipeline.input.fields.flatMap((field) => {
      if (typeof field === 'string') return [field];
      const f = field as { path: string; oneHot?: string[] };
      return f.oneHot === undefined ? [f.path] : f.oneHot.map((value) => `${f.path}=${value}`);
    });
    for (const variant of VARIANTS) {
      const c = card(spec.name, variant);
      const bytes = read(c.file);
      t.equal(c.sha256, createHash('sha256').update(bytes).digest('hex'), `${c.file}: sha256`);
      t.equal(c.bytes, bytes.length);
      t.equal(c.variant, variant);
      t.same(
        c.inputs.map((i) => i.name),
        mapped,
        `${c.file}: inputs in the pipeline's order`,
      );
      t.ok(c.inputs.every((i) => i.unit !== '' && (i.std ?? 0) > 0));
      t.same(c.decide, pipeline.decide, `${c.file}: suggests the rule default.yaml uses`);
      t.equal(c.metrics.int4.sha256, card(spec.name, 'int4').sha256, 'metrics name the files they measured');
      t.equal(c.generatedBy, 'tools/dev/make-sample-models.ts');
    }
  }
  const atm = card('atm-risk', 'int4');
  t.same(atm.output, { name: 'score', type: 'float32', shape: ['batch', 1] });
  t.equal(
    atm.labels,
    undefined,
    'a score model has no labels (the gateway would check them against 1 output)',
  );
  t.same(atm.classes, ['legit', 'fraud']);
  const inspection = card('inspection', 'int4');
  t.same(inspection.output, { name: 'probabilities', type: 'float32', shape: ['batch', 4] });
  t.same(inspection.labels, ['ok', 'dimensional', 'thermal', 'vibration']);
});

t.test(
  'quality: FP32 reaches the documented level, INT8 and INT4 keep >= 99% and agree on >= 98%',
  async (t) => {
    const atm = card('atm-risk', 'int4').metrics;
    t.ok(atm.fp32.rocAuc! >= 0.9, `atm-risk FP32 ROC-AUC ${atm.fp32.rocAuc}`);
    const inspection = card('inspection', 'int4').metrics;
    t.ok(inspection.fp32.macroF1 >= 0.9, `inspection FP32 macro F1 ${inspection.fp32.macroF1}`);
    for (const [name, metrics] of [
      ['atm-risk', atm],
      ['inspection', inspection],
    ] as const) {
      for (const variant of ['int8', 'int4'] as const) {
        const m = metrics[variant];
        t.ok(m.retention! >= 0.99, `${name} ${variant}: retention ${m.retention}`);
        t.ok(m.agreement! >= 0.98, `${name} ${variant}: agreement ${m.agreement}`);
      }
    }
  },
);

t.test('infergate eval on the shipped test split reproduces the card', async (t) => {
  const cli = path.join(packageRoot, 'dist', 'bin', 'infergate.js');
  for (const spec of SAMPLE_MODEL_SPECS) {
    const result = spawnSync(
      process.execPath,
      [
        cli,
        'eval',
        path.join(modelsDir, variantFile(spec.name, 'int4')),
        path.join(modelsDir, dataFile(spec.name)),
        '--baseline',
        path.join(modelsDir, variantFile(spec.name, 'fp32')),
        '--json',
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    t.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      model: { metrics: { headline: { value: number } } };
      baseline: { metrics: { headline: { value: number } } };
      comparison: { retention: number; agreement: number };
    };
    const { metrics } = card(spec.name, 'int4');
    const near = (a: number, b: number, what: string): void => {
      t.ok(Math.abs(a - b) <= 1e-4, `${spec.name} ${what}: eval ${a.toFixed(5)}, card ${b}`);
    };
    near(report.model.metrics.headline.value, metrics.int4.headline, 'INT4 headline');
    near(report.baseline.metrics.headline.value, metrics.fp32.headline, 'FP32 headline');
    near(report.comparison.retention, metrics.int4.retention!, 'retention');
    near(report.comparison.agreement, metrics.int4.agreement!, 'agreement');
  }
});

t.test('training is deterministic and keeps monotone weights non-negative', async (t) => {
  const random = mulberry32(3);
  const rows = 400;
  const make = (): { x: Float64Array; y: Uint8Array; rows: number } => {
    const x = Float64Array.from({ length: rows * 3 }, () => random() * 2 - 1);
    return {
      x,
      y: Uint8Array.from({ length: rows }, (_, r) => (x[r * 3]! - x[r * 3 + 1]! > 0 ? 1 : 0)),
      rows,
    };
  };
  const train = make();
  const validation = make();
  const spec = {
    sizes: [3, 6, 4, 1],
    output: 'sigmoid' as const,
    epochs: 3,
    batchSize: 16,
    learningRate: 0.01,
    weightDecay: 1e-4,
    seed: 9,
    monotone: { inputs: [0], units: [3, 2] },
    fakeQuantize: {
      epochs: 1,
      learningRate: 0.001,
      quantize: (w: Float64Array, k: number, n: number) =>
        quantizeInt4(Float32Array.from(w), k, n, 16).dequantized,
    },
  };
  const a = trainMlp(spec, train, validation, () => 0);
  const b = trainMlp(spec, train, validation, () => 0);
  t.same(
    a.layers.map((l) => Array.from(l.weights)),
    b.layers.map((l) => Array.from(l.weights)),
    'same data and seed, same weights',
  );
  const first = a.layers[0]!;
  const fromMonotone = Array.from({ length: 6 }, (_, o) => first.weights[0 * 6 + o]!);
  t.ok(
    fromMonotone.slice(0, 3).every((w) => w >= 0),
    'monotone input → monotone units: >= 0',
  );
  t.ok(
    fromMonotone.slice(3).every((w) => w === 0),
    'monotone input → free units: 0',
  );
  const second = a.layers[1]!;
  for (let i = 0; i < 3; i++) {
    t.ok(
      [0, 1].every((o) => second.weights[i * 4 + o]! >= 0) &&
        [2, 3].every((o) => second.weights[i * 4 + o] === 0),
    );
  }
  t.ok(
    [0, 1].every((i) => a.layers[2]!.weights[i]! >= 0),
    'monotone units → output: >= 0',
  );
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
  t.same(Array.from(q.scales), [1, 1 / 7].map(Math.fround), 'max|w|/7 has the smallest error here');
  t.equal(q.packed.length, 2 * 1 * 8);
  // Column 0: q = [15, 1, 8, 8, ...] → bytes 0x1f, 0x88, ...
  t.same(Array.from(q.packed.subarray(0, 8)), [0x1f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88]);
  // Column 1: scale 1/7; 0.6 → round(4.2) = 4 → 12; -1 → -7 → 1; 1 → 7 → 15.
  t.same(Array.from(q.packed.subarray(8, 10)), [0x1c, 0x8f]);
  const s = Math.fround(1 / 7);
  const dequantized = [7, 4 * s, -7, -7 * s, 0, 7 * s].map(Math.fround);
  t.same(Array.from(q.dequantized), dequantized, 'dequantized weights are (q - 8) × scale');
  t.throws(() => quantizeInt4(weights, 3, 2, 24), RangeError, 'block size must be a power of two');

  // One outlier: clipping it (a smaller scale) serves the other fifteen values better.
  const outlier = [1, ...Array.from({ length: 15 }, (_, i) => 0.05 * (i % 5) - 0.1)];
  const clipped = quantizeInt4(outlier, 16, 1, 16);
  t.ok(clipped.scales[0]! < Math.fround(1 / 7), `scale ${clipped.scales[0]} below max/7`);
  const error = (d: ArrayLike<number>): number => outlier.reduce((s, w, i) => s + (w - d[i]!) ** 2, 0);
  const plain = outlier.map((w) =>
    Math.fround(Math.min(7, Math.max(-8, Math.round(w / (1 / 7)))) * Math.fround(1 / 7)),
  );
  t.ok(error(clipped.dequantized) < error(plain), 'smaller squared error than max/7');
  t.same(Array.from(quantizeInt4([0, 0], 2, 1, 16).dequantized), [0, 0], 'an all-zero block stays zero');
  t.same(
    Array.from(quantizeInt4([1e-45, 0], 2, 1, 16).dequantized),
    [0, 0],
    'a denormal block does not turn NaN',
  );
});
