/**
 * CLI: `node dist/tools/make-sample-models.js [outDir]` writes the sample models and their model cards
 * (default: `<package root>/models`). Output is byte-identical on every run; commit it when it changes.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSampleModels } from './sample-models.js';

// Compiled to dist/tools/: the package root is two levels up.
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

async function main(argv: readonly string[]): Promise<void> {
  if (argv.length > 1 || argv[0] === '-h' || argv[0] === '--help') {
    console.error('usage: make-sample-models [outDir]');
    process.exitCode = 64;
    return;
  }
  const outDir = path.resolve(argv[0] ?? path.join(packageRoot, 'models'));
  for (const written of await writeSampleModels(outDir)) {
    console.log(`${written.name}: ${written.onnxPath} sha256=${written.sha256}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
