/**
 * CLI: `node dist/tools/dev/make-sample-models.js [outDir]` regenerates the sample data, models (FP32, INT8,
 * INT4), model cards and test-split data (default: `<package root>/models`), and the visual-inspection
 * CNN (FP32, INT8) with its cards. Output is byte-identical on every run; commit it when it changes.
 *
 * `--check` regenerates into a temporary directory and compares with `<package root>/models` byte for
 * byte: exit 0 when identical, 1 listing the files that differ.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSampleModels, type WrittenModel } from './sample-models.js';
import { writeVisualInspection, type WrittenImageModel } from './visual-inspection.js';

// Compiled to dist/tools/dev/: the package root is three levels up.
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

async function main(argv: readonly string[]): Promise<void> {
  const check = argv.includes('--check');
  const rest = argv.filter((a) => a !== '--check');
  if (rest.length > 1 || rest[0] === '-h' || rest[0] === '--help' || (check && rest.length > 0)) {
    console.error('usage: make-sample-models [outDir] | --check');
    process.exitCode = 64;
    return;
  }
  const started = performance.now();
  const committed = path.join(packageRoot, 'models');
  const outDir = check
    ? await mkdtemp(path.join(tmpdir(), 'infergate-models-'))
    : path.resolve(rest[0] ?? committed);
  try {
    const written = await writeSampleModels(outDir);
    for (const model of written) console.log(summary(model));
    const image = await writeVisualInspection(outDir);
    console.log(imageSummary(image));
    const files = [...written.flatMap((m) => m.files), ...image.files];
    if (check) {
      const differing: string[] = [];
      for (const file of files) {
        const fresh = await readFile(path.join(outDir, file));
        const existing = await readFile(path.join(committed, file)).catch(() => null);
        if (existing === null || !fresh.equals(existing)) differing.push(file);
      }
      if (differing.length > 0) {
        console.error(`differs from models/ (run npm run models and commit): ${differing.join(', ')}`);
        process.exitCode = 1;
      } else {
        console.log('models/ is up to date: every file regenerates byte-for-byte');
      }
    } else {
      console.log(`wrote ${files.length} files to ${outDir}`);
    }
    console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    if (check) await rm(outDir, { recursive: true, force: true });
  }
}

function summary(model: WrittenModel): string {
  const { fp32, int8, int4 } = model.metrics;
  const name = fp32.rocAuc === undefined ? 'macro F1' : 'ROC-AUC';
  const pct = (v: number | undefined): string => `${((v ?? 0) * 100).toFixed(2)}%`;
  return (
    `${model.name}: ${name} fp32 ${fp32.headline.toFixed(4)}, ` +
    `int8 ${int8.headline.toFixed(4)} (retention ${pct(int8.retention)}, agreement ${pct(int8.agreement)}), ` +
    `int4 ${int4.headline.toFixed(4)} (retention ${pct(int4.retention)}, agreement ${pct(int4.agreement)})`
  );
}

function imageSummary(model: WrittenImageModel): string {
  const { fp32, int8 } = model.metrics;
  const pct = (v: number | undefined): string => `${((v ?? 0) * 100).toFixed(2)}%`;
  return (
    `${model.name}: macro F1 fp32 ${fp32.headline.toFixed(4)} (${fp32.bytes} bytes), int8 ${int8.headline.toFixed(4)} ` +
    `(${int8.bytes} bytes, retention ${pct(int8.retention)}, agreement ${pct(int8.agreement)})`
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
