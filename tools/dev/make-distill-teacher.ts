/**
 * Builds the teacher of the distillation demo (docs/distill.md): an FP32 MLP four times wider than the
 * shipped atm-risk model (13 → 96 → 48 → 1), trained the same way on the same synthetic transactions
 * (tools/dev/atm-transactions.ts, train split), with the same decision bands, so `infergate distill` can
 * show a small INT4 student learning it. Usage: node dist/tools/dev/make-distill-teacher.js OUT_DIR
 * (writes atm-risk-teacher.onnx and its card; about a minute on one core).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../onnx-format/onnx.js';
import { buildMlpModel } from '../train/mlp-model.js';
import { sampleDataset } from './sample-datasets.js';
import { ATM_RISK, type SampleModelSpec } from './sample-model-specs.js';
import { trainSampleModel } from './sample-training.js';

export const TEACHER_SPEC: SampleModelSpec = {
  ...ATM_RISK,
  name: 'atm-risk-teacher',
  description:
    'Distillation demo teacher: ATM/card transaction fraud risk in [0, 1], an FP32 MLP 13-96-48-1 trained ' +
    'like atm-risk on the synthetic transactions.',
  seed: 0x7eac_0017,
  hidden: [96, 48],
  training: {
    ...ATM_RISK.training,
    monotone: { features: ['amount', 'distanceKm', 'pinTries'], units: [48, 24] },
  },
};

export function buildTeacher(): Uint8Array {
  const trained = trainSampleModel(TEACHER_SPEC, sampleDataset(ATM_RISK));
  const { model } = buildMlpModel({
    graphName: TEACHER_SPEC.name,
    docString: TEACHER_SPEC.description,
    inputName: TEACHER_SPEC.inputName,
    outputName: TEACHER_SPEC.outputName,
    logInputs: trained.logInputs,
    normalization: { mean: trained.mean, std: trained.std },
    layers: trained.layers,
    int4BlockSize: null,
  });
  return onnx.ModelProto.encode(model).finish();
}

if (process.argv[1]?.endsWith('make-distill-teacher.js') === true) {
  const outDir = process.argv[2] ?? '.';
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${TEACHER_SPEC.name}.onnx`);
  writeFileSync(file, buildTeacher());
  const card = {
    name: TEACHER_SPEC.name,
    description: TEACHER_SPEC.description,
    classes: TEACHER_SPEC.classes,
    inputs: TEACHER_SPEC.features.map((f) => ({ name: f.name, unit: f.unit })),
    decide: TEACHER_SPEC.decide,
    generatedBy: 'tools/dev/make-distill-teacher.ts',
  };
  writeFileSync(join(outDir, `${TEACHER_SPEC.name}.json`), `${JSON.stringify(card, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}
