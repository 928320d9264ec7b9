/**
 * CLI: `node dist/tools/dev/make-gguf.js OUT.gguf [--shape tiny|r1-1.5b] [--seed N]` writes a random-weight
 * qwen2 GGUF (Q4_0, R1 tokenizer and chat template) and prints its size and sha256 (for `models.<name>.sha256`).
 * `tiny` (~70 KB) is what the tests load; `r1-1.5b` (~1 GB, do not commit it) has the dimensions of
 * DeepSeek-R1-Distill-Qwen-1.5B, for latency and memory measurements.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GGUF_SHAPES, writeGgufTestModel, type GgufShapeName } from './gguf-test-model.js';

const USAGE = `usage: make-gguf OUT.gguf [--shape ${Object.keys(GGUF_SHAPES).join('|')}] [--seed N]`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        shape: { type: 'string', default: 'tiny' },
        seed: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`make-gguf: ${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 64;
  }
  if (!Object.hasOwn(GGUF_SHAPES, values.shape)) {
    console.error(`make-gguf: unknown --shape ${values.shape}\n${USAGE}`);
    return 64;
  }
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    console.error(`make-gguf: --seed must be a non-negative integer\n${USAGE}`);
    return 64;
  }
  const out = path.resolve(positionals[0]!);
  const started = performance.now();
  const written = await writeGgufTestModel(out, { shape: values.shape as GgufShapeName, seed });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${out}: ${written.bytes} bytes in ${seconds} s, sha256=${written.sha256}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
