/**
 * CLI: `node dist/tools/dev/make-vibration-model.js [file]` writes the vibration RMS model of
 * config/examples/vibration.yaml (default: `<package root>/models/vibration-rms.onnx`). Byte-identical on
 * every run.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { vibrationRmsModelBytes } from './vibration-model.js';

// Compiled to dist/tools/dev/: the package root is three levels up.
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

const file = path.resolve(process.argv[2] ?? path.join(packageRoot, 'models', 'vibration-rms.onnx'));
await writeFile(file, vibrationRmsModelBytes());
console.log(`wrote ${file}`);
