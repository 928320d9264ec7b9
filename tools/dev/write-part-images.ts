/**
 * CLI: `node dist/tools/dev/write-part-images.js DIR [--seed N] [--count N]` writes rendered washer images
 * (part-images.ts) as 8-bit grayscale PNGs into one subfolder per label, the layout `infergate eval`
 * takes for an image model. The default seed and count are the visual-inspection model's held-out test
 * set, so `infergate eval models/visual-inspection.onnx DIR` reproduces its card's metrics.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PART_IMAGE_SIZE, PART_LABELS, renderPartImage } from './part-images.js';
import { VISUAL_INSPECTION } from './visual-inspection.js';

/** Writes images 0..count-1 of the set `seed`; returns the files, relative to `dir`. */
export async function writePartImages(dir: string, seed: number, count: number): Promise<string[]> {
  for (const label of PART_LABELS) await mkdir(path.join(dir, label), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const { pixels, label } = renderPartImage(seed, i);
    const file = path.join(PART_LABELS[label]!, `${String(i).padStart(5, '0')}.png`);
    const png = await sharp(Buffer.from(pixels), {
      raw: { width: PART_IMAGE_SIZE, height: PART_IMAGE_SIZE, channels: 1 },
    })
      .png()
      .toBuffer();
    await writeFile(path.join(dir, file), png);
    files.push(file);
  }
  return files;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { seed: { type: 'string' }, count: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    console.error('usage: write-part-images DIR [--seed N] [--count N]');
    process.exitCode = 64;
    return;
  }
  const seed = Number(values.seed ?? VISUAL_INSPECTION.data.testSeed);
  const count = Number(values.count ?? VISUAL_INSPECTION.images.test);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
    console.error('--seed and --count take integers (count >= 1)');
    process.exitCode = 64;
    return;
  }
  const files = await writePartImages(path.resolve(positionals[0]!), seed, count);
  console.log(`wrote ${files.length} PNGs (seed ${seed}) into ${positionals[0]}/{${PART_LABELS.join(',')}}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
