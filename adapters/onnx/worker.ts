/**
 * Worker-thread script for adapters/onnx/worker-pool.ts: holds the ONNX Runtime sessions of the models the
 * pool put on this thread and runs their inferences here, because `session.run()` executes synchronously
 * on its calling thread and would otherwise stall the main event loop (MQTT keepalives, acks, deadline
 * timers). One thread serves several models: a further isolate costs more memory than a further
 * session of a small model.
 *
 * The pool sends one request at a time per worker; replies carry the model key or request id. Anything
 * thrown outside a request is left uncaught on purpose: the worker dies and the pool respawns it.
 */
import { parentPort } from 'node:worker_threads';
import { InferenceSession, Tensor, env } from 'onnxruntime-node';
import type { TensorInfo } from '../../daemon/ports.js';
import type {
  RunLayout,
  SerializedError,
  SessionMetadata,
  WorkerReply,
  WorkerRequest,
} from './worker-protocol.js';
import { feedValues } from './input-feeds.js';

if (parentPort === null) throw new Error('adapters/onnx/worker.js must run as a worker thread');
const port = parentPort;
/** By the pool's model key. */
const sessions = new Map<number, InferenceSession>();

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function serialize(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

function describe(metadata: readonly InferenceSession.ValueMetadata[]): TensorInfo[] {
  return metadata.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function load(key: number, modelBytes: Uint8Array, intraOpThreads: number): Promise<void> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(modelBytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Nested keys are joined with dots by the binding: session.intra_op.allow_spinning = "0". Spinning
      // intra-op threads caused p99 spikes and burn a core that the event loop and other workers need.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    reply({ type: 'loadFailed', key, error: serialize(error) });
    return;
  }
  // The pool loads a key once per thread; a repeat would otherwise leak the earlier session.
  await sessions.get(key)?.release();
  sessions.set(key, session);
  const metadata: SessionMetadata = {
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
    runtimeVersion: env.versions.node ?? 'unknown',
  };
  reply({ type: 'loaded', key, ...metadata });
}

async function unload(key: number): Promise<void> {
  const session = sessions.get(key);
  sessions.delete(key);
  await session?.release();
  reply({ type: 'unloaded', key });
}

async function run(
  active: InferenceSession,
  input: Float32Array,
  rows: number,
  layout: RunLayout,
): Promise<Float32Array> {
  const rowWidth = input.length / rows;
  const call = async (values: Float32Array, count: number): Promise<Float32Array> => {
    const feeds: Record<string, Tensor> = {};
    let offset = 0;
    for (const feed of layout.inputs) {
      const dims = layout.batched ? [count, ...feed.rowDims] : feed.rowDims;
      feeds[feed.name] = new Tensor(feed.type, feedValues(values, count, rowWidth, offset, feed), dims);
      offset += feed.width;
    }
    return first(await active.run(feeds, [layout.outputName]), layout);
  };
  if (layout.batched) return call(input, rows);
  const out: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    out.push(await call(input.subarray(row * rowWidth, (row + 1) * rowWidth), 1));
  }
  const joined = new Float32Array(out.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of out) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function first(results: InferenceSession.OnnxValueMapType, layout: RunLayout): Float32Array {
  const value = results[layout.outputName];
  if (value === undefined) throw new Error(`the model returned no output named ${layout.outputName}`);
  const values = value.data;
  if (values instanceof Float32Array) return values;
  if (values instanceof Float64Array || values instanceof Int32Array || values instanceof Uint8Array) {
    return Float32Array.from(values);
  }
  throw new Error(
    `output ${layout.outputName} has element type ${value.type}, not a number type infergate reads`,
  );
}

/** A Float32Array that owns its whole buffer, so the buffer can be transferred without taking others' data. */
function ownBuffer(values: Float32Array): Float32Array {
  return values.byteOffset === 0 &&
    values.buffer.byteLength === values.byteLength &&
    values.buffer instanceof ArrayBuffer
    ? values
    : values.slice();
}

async function handle(message: WorkerRequest): Promise<void> {
  switch (message.type) {
    case 'close':
      for (const session of sessions.values()) await session.release();
      sessions.clear();
      port.close();
      return;
    case 'load':
      return load(message.key, message.modelBytes, message.intraOpThreads);
    case 'unload':
      return unload(message.key);
    case 'run':
      return runRequest(message);
  }
}

async function runRequest(message: Extract<WorkerRequest, { type: 'run' }>): Promise<void> {
  const active = sessions.get(message.key);
  if (active === undefined) {
    reply({ type: 'runFailed', id: message.id, error: { name: 'Error', message: 'no session loaded' } });
    return;
  }
  try {
    const started = performance.now();
    const outputs = ownBuffer(await run(active, message.input, message.rows, message.layout));
    const inferenceMs = performance.now() - started;
    reply({ type: 'result', id: message.id, outputs, inferenceMs }, [outputs.buffer as ArrayBuffer]);
  } catch (error) {
    reply({ type: 'runFailed', id: message.id, error: serialize(error) });
  }
}

// Requests are handled strictly one after another, in arrival order.
let tail: Promise<void> = Promise.resolve();
port.on('message', (message: WorkerRequest) => {
  tail = tail.then(() => handle(message));
});
reply({ type: 'up' });
