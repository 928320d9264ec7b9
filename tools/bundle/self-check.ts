/**
 * `node dist/tools/bundle/self-check.js`: run by the bundle's install.sh on the target box, before anything
 * is started. It loads every native part the gateway uses (SQLite, ONNX Runtime, the Unix datagram socket
 * for sd_notify, llama.cpp) from the installed tree, so a bundle built for another machine, Node ABI or C
 * library fails here, with the part named, instead of at the first event.
 *
 * Prints one line per part. Exit 0 when the gateway can run; 69 (EX_UNAVAILABLE) when SQLite, ONNX Runtime
 * or the notify socket cannot load. llama.cpp failing is reported but is not fatal: only LLM pipelines need it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeLlamaDevice, llamaDeviceInUse } from '../../adapters/llama/device-report.js';

const EX_UNAVAILABLE = 69;
/** A shipped sample model: opening a session proves the ONNX Runtime library itself loads and runs. */
const SAMPLE_MODEL = fileURLToPath(new URL('../../../models/atm-risk.onnx', import.meta.url));

interface Part {
  name: string;
  required: boolean;
  load(): Promise<string>;
}

const parts: Part[] = [
  {
    name: 'better-sqlite3',
    required: true,
    async load() {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(':memory:');
      try {
        const row = db.prepare('select sqlite_version() as version').get() as { version: string };
        return `SQLite ${row.version}`;
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'onnxruntime-node',
    required: true,
    async load() {
      const ort = await import('onnxruntime-node');
      if (!existsSync(SAMPLE_MODEL)) return 'loaded';
      const session = await ort.InferenceSession.create(SAMPLE_MODEL, { executionProviders: ['cpu'] });
      try {
        return `CPU session on models/atm-risk.onnx (inputs: ${session.inputNames.join(', ')})`;
      } finally {
        await session.release();
      }
    },
  },
  {
    name: 'node-unix-socket',
    required: true,
    async load() {
      const { DgramSocket } = await import('node-unix-socket');
      new DgramSocket().close();
      return 'datagram socket ok';
    },
  },
  {
    name: 'node-llama-cpp',
    required: false,
    async load() {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({
        gpu: false,
        build: 'never',
        skipDownload: true,
        progressLogs: false,
        logLevel: LlamaLogLevel.error,
      });
      try {
        const report = llamaDeviceInUse();
        return report === null ? 'loaded' : describeLlamaDevice(report);
      } finally {
        await llama.dispose();
      }
    },
  },
];

async function main(): Promise<number> {
  let code = 0;
  for (const part of parts) {
    try {
      process.stdout.write(`  ${part.name}: ${await part.load()}\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      process.stdout.write(
        `  ${part.name}: FAILED: ${message}${part.required ? '' : ' (LLM pipelines only)'}\n`,
      );
      if (part.required) code = EX_UNAVAILABLE;
    }
  }
  return code;
}

process.exitCode = await main();
