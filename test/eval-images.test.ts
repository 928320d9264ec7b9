/**
 * `infergate eval` on an image model: a folder of PNGs with one subfolder per label, or a manifest CSV
 * `file,label`, preprocessed as the model card says (the gateway's preprocessImage), scored per class.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import t from 'tap';
import { PART_LABELS } from '../tools/dev/part-images.js';
import { VISUAL_INSPECTION, imageSet, visualInspectionFile } from '../tools/dev/visual-inspection.js';
import { writePartImages } from '../tools/dev/write-part-images.js';
import { modelsDir, packageRoot, tempDir } from './helpers/onnx-fixtures.js';

const cli = path.join(packageRoot, 'dist', 'bin', 'infergate.js');
const model = path.join(modelsDir, visualInspectionFile('int8'));
const fp32 = path.join(modelsDir, visualInspectionFile('fp32'));
const COUNT = 25;

function evalCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface EvalJson {
  model: { metrics: { accuracy: number; perClass: { name: string; support: number }[] } };
  comparison: { agreement: number } | null;
  data: { rows: number; preprocessing: Record<string, unknown> };
}

t.test(
  'a folder with a subfolder per label: per-class metrics, as ORT gives on the raw pixels',
  async (t) => {
    const dir = tempDir(t);
    const files = await writePartImages(path.join(dir, 'parts'), VISUAL_INSPECTION.data.testSeed, COUNT);
    t.equal(files.length, COUNT);

    const result = evalCli(model, path.join(dir, 'parts'), '--baseline', fp32, '--json');
    t.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as EvalJson;
    t.equal(report.data.rows, COUNT);
    t.same(report.data.preprocessing.fit, 'contain');
    t.same(
      report.model.metrics.perClass.map((c) => c.name),
      PART_LABELS,
    );
    t.same(
      report.model.metrics.perClass.map((c) => c.support),
      [5, 5, 5, 5, 5],
    );
    t.ok(report.comparison !== null && report.comparison.agreement >= 0.9, 'INT8 agrees with FP32');

    // The same images straight from the renderer (pixel / 255), through onnxruntime.
    const test = imageSet(VISUAL_INSPECTION.data.testSeed, COUNT);
    const session = await InferenceSession.create(model, { intraOpNumThreads: 1 });
    const out = (await session.run({ image: new Tensor('float32', test.x, [COUNT, 1, 64, 64]) }))
      .probabilities!.data as Float32Array;
    await session.release();
    let correct = 0;
    for (let r = 0; r < COUNT; r++) {
      let best = 0;
      for (let k = 1; k < 5; k++) if (out[r * 5 + k]! > out[r * 5 + best]!) best = k;
      if (best === test.y[r]) correct++;
    }
    t.equal(
      report.model.metrics.accuracy,
      correct / COUNT,
      'PNG → preprocessImage gives what the model was scored on',
    );

    const text = evalCli(model, path.join(dir, 'parts'));
    t.equal(text.status, 0, text.stderr);
    t.match(text.stdout, /images 1x64x64 nchw, fit contain/);
    t.match(text.stdout, /missing_hole/);

    t.test('a manifest CSV file,label with paths relative to it', async (t) => {
      const manifest = path.join(dir, 'manifest.csv');
      writeFileSync(
        manifest,
        `file,label\n${files
          .slice(0, 10)
          .map((f) => `parts/${f},${path.dirname(f)}`)
          .join('\n')}\n`,
      );
      const result = evalCli(model, manifest, '--json');
      t.equal(result.status, 0, result.stderr);
      t.equal((JSON.parse(result.stdout) as EvalJson).data.rows, 10);
    });

    t.test('a subfolder that is not a label, a broken image: IG_ERR_EVAL_DATA naming it', async (t) => {
      mkdirSync(path.join(dir, 'parts', 'rust'));
      writeFileSync(path.join(dir, 'parts', 'rust', 'a.png'), 'not a png');
      let result = evalCli(model, path.join(dir, 'parts'));
      t.equal(result.status, 65);
      t.match(result.stderr, /IG_ERR_EVAL_DATA: .*label 'rust' is not one of good, scratch/);

      const manifest = path.join(dir, 'broken.csv');
      writeFileSync(manifest, 'file,label\nparts/rust/a.png,good\n');
      result = evalCli(model, manifest);
      t.equal(result.status, 65);
      t.match(result.stderr, /a\.png: IG_ERR_INPUT_IMAGE_FORMAT/);
    });
  },
);
