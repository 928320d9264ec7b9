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
import type { SerializedError, SessionMetadata, WorkerReply, WorkerRequest } from './worker-protocol.js';
import { NativeSession } from './native-session.js';
import { runRows } from './run-rows.js';

if (parentPort === null) throw new Error('adapters/onnx/worker.js must run as a worker thread');
const port = parentPort;
/** By the pool's model key. */
const sessions = new Map<number, NativeSession>();

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function serialize(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

function load(key: number, modelBytes: Uint8Array, intraOpThreads: number): void {
  let session: NativeSession;
  try {
    session = NativeSession.create(modelBytes, { intraOpThreads });
  } catch (error) {
    reply({ type: 'loadFailed', key, error: serialize(error) });
    return;
  }
  // The pool loads a key once per thread; a repeat would otherwise leak the earlier session.
  sessions.get(key)?.release();
  sessions.set(key, session);
  const metadata: SessionMetadata = {
    inputs: [...session.inputs],
    outputs: [...session.outputs],
    runtimeVersion: NativeSession.runtimeVersion,
  };
  reply({ type: 'loaded', key, ...metadata });
}

function unload(key: number): void {
  const session = sessions.get(key);
  sessions.delete(key);
  session?.release();
  reply({ type: 'unloaded', key });
}

/** A Float32Array that owns its whole buffer, so the buffer can be transferred without taking others' data. */
function ownBuffer(values: Float32Array): Float32Array {
  return values.byteOffset === 0 &&
    values.buffer.byteLength === values.byteLength &&
    values.buffer instanceof ArrayBuffer
    ? values
    : values.slice();
}

function handle(message: WorkerRequest): void {
  switch (message.type) {
    case 'close':
      for (const session of sessions.values()) session.release();
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

function runRequest(message: Extract<WorkerRequest, { type: 'run' }>): void {
  const active = sessions.get(message.key);
  if (active === undefined) {
    reply({ type: 'runFailed', id: message.id, error: { name: 'Error', message: 'no session loaded' } });
    return;
  }
  try {
    const started = performance.now();
    const outputs = ownBuffer(runRows(active, message.input, message.rows, message.layout));
    const inferenceMs = performance.now() - started;
    reply({ type: 'result', id: message.id, outputs, inferenceMs }, [outputs.buffer as ArrayBuffer]);
  } catch (error) {
    reply({ type: 'runFailed', id: message.id, error: serialize(error) });
  }
}

// Every request is handled to its end before the next message event: strictly in arrival order.
port.on('message', (message: WorkerRequest) => handle(message));
reply({ type: 'up' });
