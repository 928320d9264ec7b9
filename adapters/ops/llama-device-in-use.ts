/**
 * Which llama.cpp build this process runs, and which CPU library it picked: node-llama-cpp ships one
 * `libggml-cpu-<variant>.so` per CPU generation and one `libggml-<backend>.so` per GPU backend, and llama.cpp
 * picks among them at run time from the CPU's flags. The pick matters (an AMX-capable `sapphirerapids`
 * library against `zen4` more than halved an LLM classify's latency, bench/README.md), and only the set of
 * libraries the process has mapped tells it. Same interface as adapters/llama/device-report.ts, which the
 * start log and `check-config --probe` use.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface LlamaDeviceReport {
  /** `cpu`, or the GPU backend whose library is loaded (`cuda`, `vulkan`, …). */
  build: string;
  /** The CPU library picked (`haswell`, `zen4`, `sapphirerapids`, …); null for a build with one CPU library. */
  cpuVariant: string | null;
  /** The folder the libraries were loaded from (a prebuilt package or a local build). */
  binaryDir: string;
}

const GGML_LIBRARY = /\/libggml-([A-Za-z0-9_.-]+?)\.so(?:\.[0-9.]+)?$/;

/** The report from the text of a `/proc/<pid>/maps` file; null when no ggml backend library is mapped. */
export function parseLlamaDevice(maps: string): LlamaDeviceReport | null {
  let cpuVariant: string | null = null;
  let cpuSeen = false;
  let gpuBackend: string | null = null;
  let binaryDir: string | null = null;
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash < 0 || !line.includes('libggml-')) continue;
    const file = line.slice(slash).trim();
    const name = GGML_LIBRARY.exec(file)?.[1];
    if (name === undefined || name === 'base') continue;
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

/** This process's llama.cpp build; null when none is loaded or /proc cannot be read (not Linux). */
export async function llamaDeviceInUse(mapsFile = '/proc/self/maps'): Promise<LlamaDeviceReport | null> {
  try {
    return parseLlamaDevice(await readFile(mapsFile, 'utf8'));
  } catch {
    return null;
  }
}

/** The binary package's name (`linux-x64`, `linux-x64-cuda`) or the local build's folder. */
export function binaryName(report: LlamaDeviceReport): string {
  return basename(report.binaryDir);
}
