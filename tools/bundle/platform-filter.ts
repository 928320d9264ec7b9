/**
 * What of an installed production tree one target box needs. The packages ship prebuilt binaries for
 * every platform (onnxruntime-node: macOS, Windows, both Linux architectures in one package) or as one
 * optional package per build (node-llama-cpp: CPU, CUDA, Vulkan), which makes an x86-64 install ~1.1 GiB;
 * a CPU-only box needs a tenth of it.
 */
import type { InstalledPackage } from './production-tree.js';

export type BundleArch = 'x64' | 'arm64';
export type BundleGpu = 'cuda' | 'vulkan';

export interface BundleTarget {
  arch: BundleArch;
  /** A GPU build of llama.cpp kept next to the CPU one; null: CPU only. */
  gpu: BundleGpu | null;
  /**
   * Keep node-llama-cpp's llama.cpp source (`llama/gitRelease.bundle`, ~34 MiB) so the box can build
   * llama.cpp itself with no network (a Jetson's CUDA build); the prebuilt binaries do not need it.
   */
  llamaSource: boolean;
}

/** node-llama-cpp's optional packages each GPU choice keeps, besides the CPU build `linux-<arch>`. */
const LLAMA_GPU_PACKAGES: Record<BundleGpu, readonly string[]> = {
  // cuda-ext carries the CUDA runtime libraries the cuda build falls back to when the box has none.
  cuda: ['linux-x64-cuda', 'linux-x64-cuda-ext'],
  vulkan: ['linux-x64-vulkan'],
};

/** The GPU builds node-llama-cpp publishes per architecture; arm64 (Jetson) builds from source on the box. */
export const GPU_BUILDS: Record<BundleArch, readonly BundleGpu[]> = { x64: ['cuda', 'vulkan'], arm64: [] };

/** Why `pkg` stays out of the bundle for `target`, or null when it goes in. */
export function packageExclusion(pkg: InstalledPackage, target: BundleTarget): string | null {
  const { os, cpu, libc } = pkg.manifest;
  if (!matches(os, 'linux')) return `for ${os!.join('/')}`;
  if (!matches(cpu, target.arch)) return `for ${cpu!.join('/')}`;
  // The bundle targets glibc systems (Debian, Ubuntu, JetPack, Raspberry Pi OS).
  if (!matches(libc, 'glibc')) return `for ${libc!.join('/')}`;
  const llama = /^@node-llama-cpp\/(.+)$/.exec(pkg.name);
  if (llama !== null) {
    const kept = [`linux-${target.arch}`, ...(target.gpu === null ? [] : LLAMA_GPU_PACKAGES[target.gpu])];
    if (!kept.includes(llama[1]!))
      return target.gpu === null ? 'a GPU build (CPU-only bundle)' : 'another GPU build';
  }
  return null;
}

/**
 * Whether a file inside a kept package goes in; `path` is relative to the package folder, `/`-separated.
 * Drops other platforms' onnxruntime binaries and better-sqlite3's sources and build intermediates (the
 * compiled addon is all it loads).
 */
export function keepFile(pkg: InstalledPackage, path: string, target: BundleTarget): boolean {
  if (pkg.name === 'onnxruntime-node') {
    const binary = /^bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(path);
    if (binary !== null) {
      if (binary[1] !== 'linux') return false;
      return binary[2] === undefined || binary[2] === target.arch;
    }
  }
  if (pkg.name === 'node-llama-cpp' && path === 'llama/gitRelease.bundle') return target.llamaSource;
  if (pkg.name === 'better-sqlite3') {
    if (path === 'deps' || path.startsWith('deps/') || path === 'src' || path.startsWith('src/'))
      return false;
    if (path === 'build' || path === 'build/Release') return true;
    if (path.startsWith('build/')) return path === 'build/Release/better_sqlite3.node';
  }
  return true;
}

function matches(allowed: string[] | undefined, value: string): boolean {
  if (allowed === undefined || allowed.length === 0) return true;
  const negated = allowed.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1));
  if (negated.includes(value)) return false;
  const positive = allowed.filter((entry) => !entry.startsWith('!'));
  return positive.length === 0 || positive.includes(value);
}
