/**
 * The visual-inspection sample CNN, checked without the full training (that is `npm run models --
 * --check`): the renderer is deterministic and balanced, the TypeScript forward pass agrees with
 * onnxruntime on an exported model, `infergate quantize --bits 8` rewrites Conv weights into a model ORT
 * runs and that agrees with FP32, and the shipped files and cards hang together.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import t from 'tap';
import type { ImageModelCard } from '../tools/common/model-card.js';
import { cnnForward, cnnLogits, softmax } from '../tools/dev/cnn-model.js';
import { mulberry32 } from '../tools/train/mulberry32.js';
import { PART_LABELS, renderPartImage, renderPartImages } from '../tools/dev/part-images.js';
import { backward, initialWeights, parameters, trainCnn } from '../tools/dev/train-cnn.js';
import {
  VISUAL_INSPECTION,
  VISUAL_INSPECTION_PREPROCESSING,
  exportCnn,
  imageSet,
  quantizeCnn,
  trainSpec,
  visualInspectionFile,
} from '../tools/dev/visual-inspection.js';
import { decodeModel } from '../tools/onnx-format/onnx-decode.js';
import { quantizeModel } from '../tools/quantize/quantize-model.js';
import { modelsDir } from './helpers/onnx-fixtures.js';

const PIXELS = 64 * 64;
const read = (file: string): Buffer => readFileSync(path.join(modelsDir, file));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const ops = (bytes: Uint8Array): string[] => decodeModel(bytes).graph.nodes.map((n) => n.opType);

async function ortRun(bytes: Uint8Array, x: Float32Array, count: number): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const out = await session.run({ image: new Tensor('float32', x, [count, 1, 64, 64]) });
    return out.probabilities!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const argmax = (values: ArrayLike<number>, row: number, width: number): number => {
  let best = 0;
  for (let k = 1; k < width; k++) if (values[row * width + k]! > values[row * width + best]!) best = k;
  return best;
};

t.test('the renderer is deterministic per image and every set is balanced', async (t) => {
  const a = renderPartImage(123, 17);
  const b = renderPartImage(123, 17);
  t.ok(Buffer.from(a.pixels).equals(Buffer.from(b.pixels)), 'same seed and index, same bytes');
  t.notOk(Buffer.from(a.pixels).equals(Buffer.from(renderPartImage(124, 17).pixels)), 'another seed differs');
  const set = renderPartImages(123, 50);
  t.ok(Buffer.from(set.pixels.subarray(17 * PIXELS, 18 * PIXELS)).equals(Buffer.from(a.pixels)));
  const counts = PART_LABELS.map((_, k) => set.labels.filter((l) => l === k).length);
  t.same(counts, [10, 10, 10, 10, 10], 'ten of each class');
  t.equal(
    sha256(renderPartImages(VISUAL_INSPECTION.data.testSeed, 5).pixels),
    sha256(renderPartImages(VISUAL_INSPECTION.data.testSeed, 5).pixels),
  );
  // A frame shows a bright part on a dark belt, not a flat or saturated picture.
  for (let i = 0; i < 5; i++) {
    const px = set.pixels.subarray(i * PIXELS, (i + 1) * PIXELS);
    const centre = px[32 * 64 + 32]!;
    const corner = px[0]!;
    t.ok(Math.max(...px) > 150 && corner < 90, `${PART_LABELS[set.labels[i]!]}: part brighter than belt`);
    if (PART_LABELS[set.labels[i]!] === 'missing_hole') t.ok(centre > 100, 'no hole in the middle');
  }
});

t.test('backpropagation matches finite differences for every pooling head', async (t) => {
  for (const pool of ['average', 'max', 'both'] as const) {
    const spec = { ...trainSpec({ height: 16, width: 16, convChannels: [3, 4, 4], pool }), seed: 3 };
    const random = mulberry32(9);
    const w = initialWeights(spec, random);
    const image = Float32Array.from({ length: 256 }, () => random());
    const params = parameters(w);
    const grads = params.map((p) => new Float32Array(p.length));
    backward(w, grads, image, 2, spec);
    const loss = (): number => {
      const p = softmax(cnnLogits(w, image));
      let sum = 0;
      for (let k = 0; k < 5; k++) sum -= ((k === 2 ? 0.95 : 0) + 0.01) * Math.log(p[k]!);
      return sum;
    };
    let worst = 0;
    params.forEach((param, pi) => {
      for (let i = 0; i < Math.min(param.length, 6); i++) {
        const old = param[i]!;
        param[i] = old + 1e-3;
        const up = loss();
        param[i] = old - 1e-3;
        const down = loss();
        param[i] = old;
        worst = Math.max(worst, Math.abs((up - down) / 2e-3 - grads[pi]![i]!));
      }
    });
    t.ok(worst < 1e-3, `${pool}: largest gradient error ${worst}`);
  }
});

t.test('the TypeScript CNN forward pass agrees with onnxruntime on the exported model', async (t) => {
  const train = imageSet(7, 40);
  const trained = trainCnn(trainSpec({ epochs: 1, batchSize: 8 }), train, imageSet(8, 10));
  const fp32 = exportCnn(trained.weights);
  t.same(ops(fp32), [
    ...['Sub', 'Mul'],
    ...['Conv', 'Relu', 'Conv', 'Relu', 'Conv', 'Relu'],
    ...['GlobalAveragePool', 'GlobalMaxPool', 'Concat', 'Flatten', 'Gemm', 'Softmax'],
  ]);
  const test = imageSet(9, 12);
  const ours = cnnForward(trained.weights, test.x, test.count);
  const theirs = await ortRun(fp32, test.x, test.count);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  t.ok(worst < 1e-5, `largest probability difference ${worst}`);

  t.test('quantize --bits 8 rewrites the Conv weights; ORT runs it and agrees with FP32', async (t) => {
    const int8 = quantizeCnn(fp32);
    t.equal(ops(int8).filter((o) => o === 'DequantizeLinear').length, 4, 'three Conv weights and the Gemm');
    t.ok(int8.length < fp32.length * 0.5, `${int8.length} bytes vs ${fp32.length}`);
    const q = await ortRun(int8, test.x, test.count);
    let same = 0;
    for (let r = 0; r < test.count; r++) if (argmax(q, r, 5) === argmax(theirs, r, 5)) same++;
    t.ok(same >= test.count - 1, `${same}/${test.count} images get the FP32 class`);
  });

  t.test('quantize --bits 4 leaves Conv in FP32 and says why', async (t) => {
    const { report } = quantizeModel(fp32, {
      bits: 4,
      blockSize: 16,
      minSize: 0,
      exclude: [],
      accuracyLevel: null,
    });
    t.same(
      report.quantized.map((q) => q.opType),
      ['Gemm'],
    );
    t.equal(report.skipped.length, 3);
    t.match(report.skipped[0]!.reason, /no 4-bit CPU convolution/);
  });
});

t.test(
  'the shipped models: INT8 is the quantized FP32, cards describe the files, quality holds',
  async (t) => {
    const fp32 = read(visualInspectionFile('fp32'));
    const int8 = read(visualInspectionFile('int8'));
    t.ok(Buffer.from(quantizeCnn(fp32)).equals(int8), 'quantizing the shipped FP32 gives the shipped INT8');
    for (const variant of ['fp32', 'int8'] as const) {
      const file = visualInspectionFile(variant);
      const card = JSON.parse(read(file.replace(/\.onnx$/, '.json')).toString('utf8')) as ImageModelCard;
      const bytes = variant === 'fp32' ? fp32 : int8;
      t.equal(card.sha256, sha256(bytes), `${file}: card sha256`);
      t.equal(card.bytes, bytes.length);
      t.same(card.labels, PART_LABELS);
      t.same(card.preprocessing, VISUAL_INSPECTION_PREPROCESSING);
      t.same(card.input.shape, ['batch', 1, 64, 64]);
      t.equal(card.metrics.fp32.perClass.length, 5);
      t.ok(
        card.metrics.int8.macroF1 >= 0.99 * card.metrics.fp32.macroF1,
        'INT8 keeps >= 99% of the FP32 macro F1',
      );
    }
    // A slice of the held-out set through ORT: both variants answer alike.
    const test = imageSet(VISUAL_INSPECTION.data.testSeed, 100);
    const a = await ortRun(fp32, test.x, test.count);
    const b = await ortRun(int8, test.x, test.count);
    let same = 0;
    let correct = 0;
    for (let r = 0; r < test.count; r++) {
      if (argmax(a, r, 5) === argmax(b, r, 5)) same++;
      if (argmax(b, r, 5) === test.y[r]) correct++;
    }
    t.ok(same >= 97, `${same}/100 held-out images get the same class from INT8 and FP32`);
    t.ok(correct >= 90, `${correct}/100 held-out images classified right by INT8`);
  },
);
