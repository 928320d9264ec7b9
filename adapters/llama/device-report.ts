/**
 * Which llama.cpp build this process runs, and which CPU library it picked. The same model on the same
 * cores runs at very different speeds with different CPU libraries (an AMX-capable `sapphirerapids` one
 * against `zen4` on a VM that hides AMX), and llama.cpp chooses among them at run time from the CPU's
 * flags, so the only reliable answer is the set of libraries the process has actually mapped.
 *
 * node-llama-cpp's prebuilt packages ship `libggml-cpu-<variant>.so` per CPU generation and one
 * `libggml-<backend>.so` per GPU backend; a local build has a single `libggml-cpu.so`.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface LlamaDeviceReport {
  /** The backend build in use: `cpu`, or the GPU backend whose library is loaded (`cuda`, `vulkan`, …). */
  build: string;
  /** The CPU library picked for this processor (`haswell`, `zen4`, `sapphirerapids`, `armv8.2_1`, …); null for a build with one CPU library. */
  cpuVariant: string | null;
  /** The folder the llama.cpp libraries were loaded from (a prebuilt package or a local build). */
  binaryDir: string;
}

const GGML_LIBRARY = /\/libggml-([A-Za-z0-9_.-]+?)\.so(?:\.[0-9.]+)?$/;
/** Libraries of ggml itself, not a compute backend. */
const NOT_BACKENDS = new Set(['base']);

/**
 * The llama.cpp build loaded into this process, read from `/proc/self/maps`; null when no llama.cpp
 * library is loaded (no pipeline uses an LLM) or the maps cannot be read (not Linux).
 */
export function llamaDeviceInUse(mapsFile = '/proc/self/maps'): LlamaDeviceReport | null {
  let maps: string;
  try {
    maps = readFileSync(mapsFile, 'utf8');
  } catch {
    return null;
  }
  return parseLlamaDevice(maps);
}

/** The report from the text of a `/proc/<pid>/maps` file; null when no ggml library is mapped. */
export function parseLlamaDevice(maps: string): LlamaDeviceReport | null {
  let cpuVariant: string | null = null;
  let cpuSeen = false;
  let gpuBackend: string | null = null;
  let binaryDir: string | null = null;
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash < 0) continue;
    const file = line.slice(slash).trim();
    const match = GGML_LIBRARY.exec(file);
    if (match === null) continue;
    const name = match[1]!;
    if (NOT_BACKENDS.has(name)) {
      binaryDir ??= dirname(file);
      continue;
    }
    if (name === 'cpu' || name.startsWith('cpu-')) {
      cpuSeen = true;
      cpuVariant = name === 'cpu' ? null : name.slice('cpu-'.length);
      binaryDir ??= dirname(file);
    } else {
      gpuBackend ??= name;
      binaryDir = dirname(file);
    }
  }
  if (binaryDir === null || (!cpuSeen && gpuBackend === null)) return null;
  return { build: gpuBackend ?? 'cpu', cpuVariant, binaryDir };
}

/** The binary package's name (`linux-x64`, `linux-x64-cuda`) or the local build's folder. */
export function binaryName(report: LlamaDeviceReport): string {
  return basename(report.binaryDir);
}

/** One line for logs, tables and the status page: `cpu build, CPU variant zen4 (linux-x64)`. */
export function describeLlamaDevice(report: LlamaDeviceReport): string {
  const variant = report.cpuVariant === null ? 'one CPU library' : `CPU variant ${report.cpuVariant}`;
  return `${report.build} build, ${variant} (${binaryName(report)})`;
}
