/**
 * An ONNX Runtime session whose `run` returns its outputs synchronously, on the calling thread.
 *
 * onnxruntime-node's public `InferenceSession.run()` computes synchronously too, but only inside a
 * `setImmediate` of the backend, and hands the result over through two promises. A model that runs inline
 * on the event loop must be decided within the turn its events arrived in, before that turn's state commit
 * (so the event and its decision share one commit, and the decision leaves with the PUBACKs): so this class
 * makes the same calls to the native binding that the backend makes (`loadModel`, `run`,
 * `inputMetadata`, `outputMetadata`, `dispose`), without the deferral. The worker threads use it as well:
 * one code path for both placements, and one event-loop turn fewer per run on a worker.
 *
 * The binding is the package's own `dist/binding.js` of the pinned onnxruntime-node 1.30.0 (no exports map
 * hides it). `test/onnx-native-session.test.ts` checks its shape, so an upgrade that changes it fails there.
 */
import { createRequire } from 'node:module';
import { Tensor, env } from 'onnxruntime-node';
import type { TensorInfo } from '../../daemon/ports.js';
import { disableOnnxTelemetry } from './telemetry.js';

interface NativeValueMetadata {
  name: string;
  isTensor: boolean;
  /** ONNX TensorProto element type number. */
  type: number;
  /** -1 for a symbolic dimension, whose name is in symbolicDimensions. */
  shape: number[];
  symbolicDimensions: string[];
}

interface NativeInferenceSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: NativeValueMetadata[];
  readonly outputMetadata: NativeValueMetadata[];
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor>;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeInferenceSession };
  initOrt(): void;
}

const require = createRequire(import.meta.url);
let native: NativeBinding | undefined;

function nativeBinding(): NativeBinding {
  // The package's main module loads the binding as well; this is the same module instance.
  native ??= require('onnxruntime-node/dist/binding.js') as NativeBinding;
  return native;
}

/** Element type names by ONNX TensorProto number, as onnxruntime-node's backend names them. */
const ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  21: 'uint4',
  22: 'int4',
};

export interface NativeSessionOptions {
  /** ONNX Runtime intra-op threads (1: the calling thread only). */
  intraOpThreads: number;
}

const RUN_OPTIONS = {};

export class NativeSession {
  private session: NativeInferenceSession | null;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** For every run: all outputs would be computed and copied out; the adapter reads the first only. */
  private readonly fetches: Record<string, null>;

  private constructor(session: NativeInferenceSession) {
    this.session = session;
    this.inputs = session.inputMetadata.map(describe);
    this.outputs = session.outputMetadata.map(describe);
    this.fetches = { [this.outputs[0]?.name ?? '']: null };
  }

  /** Builds a session from verified model bytes (never from a path). Blocks while ONNX Runtime loads it. */
  static create(modelBytes: Uint8Array, options: NativeSessionOptions): NativeSession {
    // Before the runtime initializes on this thread, which the first session does (see telemetry.ts).
    disableOnnxTelemetry();
    const { binding, initOrt } = nativeBinding();
    initOrt();
    const session = new binding.InferenceSession();
    session.loadModel(modelBytes.buffer as ArrayBuffer, modelBytes.byteOffset, modelBytes.byteLength, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Nested keys are joined with dots by the binding: session.intra_op.allow_spinning = "0". Spinning
      // intra-op threads caused p99 spikes and burn a core that the event loop and other workers need.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    return new NativeSession(session);
  }

  /** The runtime's version, for the model's info. */
  static get runtimeVersion(): string {
    return env.versions.node ?? 'unknown';
  }

  /** Computes the first output for `feeds`, synchronously. */
  run(feeds: Record<string, Tensor>): Tensor {
    if (this.session === null) throw new Error('the session was released');
    const outputName = this.outputs[0]!.name;
    const output = this.session.run(feeds, this.fetches, RUN_OPTIONS)[outputName];
    if (output === undefined) throw new Error(`the model returned no output named ${outputName}`);
    return output;
  }

  /** Frees the native session. Idempotent. */
  release(): void {
    const session = this.session;
    this.session = null;
    session?.dispose();
  }
}

export { Tensor };

function describe(m: NativeValueMetadata): TensorInfo {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
  return {
    name: m.name,
    type: ELEMENT_TYPES[m.type] ?? `onnx-type-${m.type}`,
    shape: m.shape.map((dim, i) => (dim === -1 ? (m.symbolicDimensions[i] ?? '') : dim)),
  };
}
