/**
 * Which llama.cpp build this process loaded: node-llama-cpp ships one CPU library per x86 generation
 * (`libggml-cpu-haswell.so` … `-sapphirerapids.so`) and loads the best the CPU allows, plus GPU backends
 * (`libggml-cuda.so`, `libggml-vulkan.so`) when it uses one. Only the memory map tells which were picked, and
 * the pick matters: the same model ran more than twice as fast with the AMX variant (bench/README.md).
 */
import { readFile } from 'node:fs/promises';

export interface LlamaBuildInUse {
  /** CPU variant libraries mapped, e.g. `sapphirerapids`; empty when none is (yet). */
  cpuVariants: string[];
  /** GPU backends mapped: `cuda`, `vulkan`, `metal`. */
  gpuBackends: string[];
  /** The node-llama-cpp binary package the libraries came from, e.g. `linux-x64` or `linux-x64-cuda`. */
  binaries: string[];
}

const CPU_LIBRARY = /libggml-cpu-([a-z0-9_]+)\.so/;
const GPU_LIBRARY = /libggml-(cuda|vulkan|metal)\.so/;
const BINARY_PACKAGE = /@node-llama-cpp\/([a-z0-9-]+)\//;

/** Parses `/proc/<pid>/maps` text. */
export function parseLlamaBuild(maps: string): LlamaBuildInUse {
  const cpu = new Set<string>();
  const gpu = new Set<string>();
  const binaries = new Set<string>();
  for (const line of maps.split('\n')) {
    if (!line.includes('ggml') && !line.includes('llama')) continue;
    const cpuMatch = CPU_LIBRARY.exec(line);
    if (cpuMatch !== null) cpu.add(cpuMatch[1]!);
    const gpuMatch = GPU_LIBRARY.exec(line);
    if (gpuMatch !== null) gpu.add(gpuMatch[1]!);
    const packageMatch = BINARY_PACKAGE.exec(line);
    if (packageMatch !== null && line.includes('ggml')) binaries.add(packageMatch[1]!);
  }
  return { cpuVariants: [...cpu], gpuBackends: [...gpu], binaries: [...binaries] };
}

/** This process's llama.cpp libraries; null where /proc is not available. */
export async function readLlamaBuildInUse(): Promise<LlamaBuildInUse | null> {
  try {
    return parseLlamaBuild(await readFile('/proc/self/maps', 'utf8'));
  } catch {
    return null;
  }
}
