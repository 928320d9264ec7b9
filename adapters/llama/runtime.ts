/**
 * The process's one node-llama-cpp `Llama` (the native backend and its compute device), shared by every llama
 * model and reference counted: the first `acquireLlamaRuntime` creates it, the last `release` disposes it.
 * Model weights are shared the same way, keyed by file, content and GPU layers, so two pipelines on one
 * GGUF file (or the old and new model during a reload) hold it in memory once.
 *
 * Nothing is ever downloaded or built: `build: 'never'` takes a local build (the Jetson route, docs/llm.md)
 * or a prebuilt binary from node-llama-cpp's optional packages, and fails otherwise.
 */
import { LlamaLogLevel, getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';
import type { LlamaModelConfig } from '../../daemon/config.js';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import type { Logger } from '../../daemon/ports.js';
import { llamaDeviceInUse } from './device-report.js';

export type LlamaDevice = LlamaModelConfig['device'];

export interface LlamaRuntimeLease {
  readonly llama: Llama;
  /** What runs the models: `cpu`, `cuda`, `vulkan` (or another node-llama-cpp GPU type). */
  readonly device: string;
  /**
   * Loads `path` or shares the copy already loaded from the same file content (`sha256`) with the same GPU
   * layers; a file replaced in place (a reload) is loaded anew.
   */
  loadModel(path: string, sha256: string, gpuLayers: number | 'max'): Promise<LlamaModelLease>;
  /** Idempotent; the last release disposes the runtime. */
  release(): Promise<void>;
}

export interface LlamaModelLease {
  readonly model: LlamaModel;
  /** Idempotent; the last release disposes the model. */
  release(): Promise<void>;
}

interface SharedModel {
  model: Promise<LlamaModel>;
  refs: number;
}

interface Runtime {
  device: LlamaDevice;
  llama: Promise<Llama>;
  refs: number;
  models: Map<string, SharedModel>;
}

let current: Runtime | null = null;

export async function acquireLlamaRuntime(device: LlamaDevice, logger: Logger): Promise<LlamaRuntimeLease> {
  if (current !== null && current.device !== device) {
    throw new ModelError(
      ErrorCodes.MODEL_LOAD,
      `llama runtime already runs on device ${current.device}; one process has one llama runtime, so every ` +
        `llama model must use the same device (got ${device})`,
    );
  }
  if (current === null) {
    const runtime: Runtime = { device, llama: createLlama(device, logger), refs: 0, models: new Map() };
    current = runtime;
    // A failed start must not stick: the next acquire tries again.
    runtime.llama.catch(() => {
      if (current === runtime) current = null;
    });
  }
  const runtime = current;
  runtime.refs += 1;
  let llama: Llama;
  try {
    llama = await runtime.llama;
  } catch (error) {
    runtime.refs -= 1;
    throw error;
  }
  let released = false;
  return {
    llama,
    device: llama.gpu === false ? 'cpu' : llama.gpu,
    loadModel: (path, sha256, gpuLayers) => loadSharedModel(runtime, llama, path, sha256, gpuLayers),
    async release() {
      if (released) return;
      released = true;
      runtime.refs -= 1;
      if (runtime.refs > 0) return;
      if (current === runtime) current = null;
      await llama.dispose();
    },
  };
}

async function createLlama(device: LlamaDevice, logger: Logger): Promise<Llama> {
  const log = logger.child({ component: 'llama-runtime' });
  let llama: Llama;
  try {
    llama = await getLlama({
      gpu: device === 'cpu' ? false : device,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      // 0: a context's `threads` is then exactly what it gets; the default caps it at max(cores, 4).
      maxThreads: 0,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => forward(log, level, message),
    });
  } catch (error) {
    const hint =
      device === 'cpu'
        ? 'node-llama-cpp has no CPU binary for this platform (its optional @node-llama-cpp/* packages)'
        : `no working ${device} build of node-llama-cpp on this box (prebuilt binaries need the driver and ` +
          'runtime libraries; a Jetson needs a local build, see docs/llm.md); device: cpu runs on the CPU';
    throw new ModelError(ErrorCodes.MODEL_LOAD, `llama runtime (device ${device}): ${hint}`, {
      cause: error,
    });
  }
  const picked = llama.gpu === false ? 'cpu' : llama.gpu;
  const why =
    device === 'auto'
      ? picked === 'cpu'
        ? 'auto: no usable GPU build and driver found (CUDA, Vulkan); auto can miss a GPU, set the device explicitly'
        : `auto: ${picked} was the first usable GPU build`
      : 'configured';
  // The CPU library llama.cpp chose decides much of the speed: say which one this box got.
  const loaded = llamaDeviceInUse();
  log.info(
    {
      device: picked,
      cpuVariant: loaded?.cpuVariant ?? null,
      binaries: loaded?.binaryDir ?? null,
      requested: device,
      reason: why,
      build: llama.buildType,
      llamaCpp: llama.llamaCppRelease.release,
      cpuMathCores: llama.cpuMathCores,
    },
    'llama runtime started',
  );
  return llama;
}

async function loadSharedModel(
  runtime: Runtime,
  llama: Llama,
  path: string,
  sha256: string,
  gpuLayers: number | 'max',
): Promise<LlamaModelLease> {
  const key = `${path}\u0000${sha256}\u0000${String(gpuLayers)}`;
  let shared = runtime.models.get(key);
  if (shared === undefined) {
    const loading: SharedModel = {
      // On the CPU, llama.cpp repacks Q4 weights into its own buffers (x86 AVX2/AVX-512, ARM NEON), and a
      // memory-mapped file would stay resident next to them, so reading it costs less memory than mapping it.
      model: llama.loadModel({ modelPath: path, gpuLayers, useMmap: llama.gpu === false ? false : 'auto' }),
      refs: 0,
    };
    loading.model.catch(() => {
      if (runtime.models.get(key) === loading) runtime.models.delete(key);
    });
    runtime.models.set(key, loading);
    shared = loading;
  }
  const entry = shared;
  entry.refs += 1;
  let model: LlamaModel;
  try {
    model = await entry.model;
  } catch (error) {
    entry.refs -= 1;
    throw error;
  }
  let released = false;
  return {
    model,
    async release() {
      if (released) return;
      released = true;
      entry.refs -= 1;
      if (entry.refs > 0) return;
      if (runtime.models.get(key) === entry) runtime.models.delete(key);
      await model.dispose();
    },
  };
}

function forward(log: Logger, level: LlamaLogLevel, message: string): void {
  const text = message.trimEnd();
  if (text === '') return;
  switch (level) {
    case LlamaLogLevel.fatal:
    case LlamaLogLevel.error:
      log.error({ llamaCpp: level }, text);
      return;
    case LlamaLogLevel.warn:
      log.warn({ llamaCpp: level }, text);
      return;
    default:
      log.debug({ llamaCpp: level }, text);
  }
}
