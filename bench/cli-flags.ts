/**
 * Flags the bench commands share (`bench`, `soak`), so they validate the same way and fail with the same
 * messages and exit code.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_MOSQUITTO_BINARY } from './mosquitto-process.js';
import { repoRoot } from './repo-root.js';

/** `parseArgs` options of every command that runs the gateway against a private Mosquitto. */
export const BROKER_RUN_OPTIONS = {
  model: { type: 'string', default: join(repoRoot, 'models', 'atm-risk.onnx') },
  mosquitto: { type: 'string', default: DEFAULT_MOSQUITTO_BINARY },
  json: { type: 'string' },
  'keep-logs': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CliFlags {
  /** Prints `<program>: message` and exits 2, the usage-error code. */
  fail(message: string): never;
  /** A finite number > 0 (or >= 0 with `allowZero`), or `fail`. */
  positive(name: string, raw: string, allowZero?: boolean): number;
  /** The model path made absolute, or `fail` when the file is missing. */
  model(raw: string): string;
}

export function cliFlags(program: string): CliFlags {
  const fail = (message: string): never => {
    console.error(`${program}: ${message}`);
    process.exit(2);
  };
  return {
    fail,
    positive(name, raw, allowZero = false) {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
        fail(`--${name} must be a positive number`);
      return n;
    },
    model(raw) {
      const path = resolve(raw);
      if (!existsSync(path)) fail(`model ${path} not found (npm run models builds the sample models)`);
      return path;
    },
  };
}
