/**
 * onnxruntime-node 1.30 ships 1DS telemetry on Linux and macOS (microsoft/onnxruntime#27379): on the first
 * session it writes a persistent device id and an event cache under ~/.cache/Microsoft/DeveloperTools and
 * queues ProcessInfo/SessionCreation events for upload. infergate promises that nothing leaves the box, and
 * the uploader also costs a thread and memory. `ORT_DISABLE_TELEMETRY=1` turns all of it off, but only when
 * it is in the process environment before onnxruntime initializes, and the decision then holds for the
 * process lifetime.
 */

const VARIABLE = 'ORT_DISABLE_TELEMETRY';

/**
 * Call on the main thread before the first onnxruntime import or worker that imports it. Assigning
 * process.env on the main thread calls setenv(3), which the native library reads; a worker's process.env
 * is a private copy and would not reach it. Overrides an opt-in on purpose.
 */
export function disableOnnxTelemetry(): void {
  if (process.env[VARIABLE] !== '1') process.env[VARIABLE] = '1';
}
