/**
 * Shared setup for the ONNX adapter tests: the package root (tests run from dist/test/), a silent logger,
 * a ModelConfig with test defaults, and a temp dir removed at teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { ModelConfig } from '../../daemon/config.js';
import type { Logger } from '../../daemon/ports.js';

// Compiled to dist/test/helpers/: the package root is three levels up.
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const modelsDir = path.join(packageRoot, 'models');

export const silentLogger: Logger = pino({ level: 'silent' });

export function modelConfig(overrides: Partial<ModelConfig> & { path: string }): ModelConfig {
  return {
    name: path.basename(overrides.path).replace(/\.onnx$/, ''),
    runtime: 'onnx',
    sha256: null,
    threads: 1,
    workers: 1,
    // The worker pool's own tests need it; the inline placement has tests of its own.
    placement: 'workers',
    maxBatch: 32,
    llama: null,
    ...overrides,
  };
}

export function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergate-onnx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
