/**
 * The shipped sample models (models/atm-risk.onnx, models/inspection.onnx) and their model cards
 * (models/<name>.json). Everything is derived from the specs and a fixed seed, so regenerating gives the
 * same bytes; the test suite checks the committed files against a fresh build.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BATCH_DIM, buildMlpModel, type MlpReference } from './mlp-model.js';
import { encodeModel } from './onnx-proto.js';
import { SAMPLE_MODEL_SPECS, type SampleModelSpec } from './sample-model-specs.js';
import { sampleModelLayers } from './sample-model-weights.js';

export {
  writeSlowModel,
  writeTinyModel,
  type SlowModelOptions,
  type TinyModelOptions,
} from './test-models.js';

export const GENERATED_BY = 'tools/make-sample-models.ts';

export interface ModelCard {
  name: string;
  task: string;
  description: string;
  trained: false;
  input: { name: string; type: 'float32'; shape: [string, number] };
  /** The input vector's values, in order. */
  inputs: { name: string; unit: string; mean: number; std: number }[];
  output: { name: string; type: 'float32'; shape: [string, number] };
  labels?: string[];
  quantization: { weights: 'int4'; operator: string; blockSize: number; zeroPoint: number; symmetric: true };
  file: string;
  bytes: number;
  sha256: string;
  generatedBy: string;
  seed: number;
}

export interface SampleModel {
  spec: SampleModelSpec;
  onnx: Uint8Array;
  card: ModelCard;
  /** The same network in JavaScript, with the weights after quantization. */
  reference: MlpReference;
}

export function buildSampleModel(spec: SampleModelSpec): SampleModel {
  const { model, reference } = buildMlpModel({
    graphName: spec.name,
    docString: spec.description,
    inputName: spec.inputName,
    outputName: spec.outputName,
    normalization: { mean: spec.features.map((x) => x.mean), std: spec.features.map((x) => x.std) },
    layers: sampleModelLayers(spec),
    int4BlockSize: spec.blockSize,
    metadata: [
      { key: 'infergate.model', value: spec.name },
      { key: 'infergate.seed', value: String(spec.seed) },
    ],
  });
  const onnx = encodeModel(model);
  const card: ModelCard = {
    name: spec.name,
    task: spec.task,
    description: spec.description,
    trained: false,
    input: { name: spec.inputName, type: 'float32', shape: [BATCH_DIM, spec.features.length] },
    inputs: spec.features.map((x) => ({ name: x.name, unit: x.unit, mean: x.mean, std: x.std })),
    output: { name: spec.outputName, type: 'float32', shape: [BATCH_DIM, spec.outputWidth] },
    ...(spec.labels === null ? {} : { labels: [...spec.labels] }),
    quantization: {
      weights: 'int4',
      operator: 'com.microsoft MatMulNBits',
      blockSize: spec.blockSize,
      zeroPoint: 8,
      symmetric: true,
    },
    file: `${spec.name}.onnx`,
    bytes: onnx.length,
    sha256: createHash('sha256').update(onnx).digest('hex'),
    generatedBy: GENERATED_BY,
    seed: spec.seed,
  };
  return { spec, onnx, card, reference };
}

export function buildSampleModels(): SampleModel[] {
  return SAMPLE_MODEL_SPECS.map(buildSampleModel);
}

export function modelCardJson(card: ModelCard): string {
  return `${JSON.stringify(card, null, 2)}\n`;
}

/** Writes `<name>.onnx` and `<name>.json` for every sample model into `outDir`; returns the paths. */
export async function writeSampleModels(
  outDir: string,
): Promise<{ name: string; onnxPath: string; cardPath: string; sha256: string }[]> {
  await mkdir(outDir, { recursive: true });
  const written = [];
  for (const sample of buildSampleModels()) {
    const onnxPath = path.join(outDir, sample.card.file);
    const cardPath = path.join(outDir, `${sample.spec.name}.json`);
    await writeFile(onnxPath, sample.onnx);
    await writeFile(cardPath, modelCardJson(sample.card));
    written.push({ name: sample.spec.name, onnxPath, cardPath, sha256: sample.card.sha256 });
  }
  return written;
}
