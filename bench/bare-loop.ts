/**
 * The baseline the gateway is compared with: the simplest correct MQTT → ONNX → MQTT loop, in one process.
 * QoS 1 in and out, TCP no-delay, inference on the main thread, reply to the request's Response Topic with
 * its Correlation Data. No validation, persistence, deadlines or fallbacks: what is left is the floor
 * the gateway's own work is measured against.
 *
 *   node dist/bench/bare-loop.js --url mqtt://127.0.0.1:PORT --model models/atm-risk.onnx [--event atm|wide]
 *
 * Prints `ready` on stdout once subscribed.
 */
import { parseArgs } from 'node:util';
import { disableOnnxTelemetry } from '../adapters/onnx/telemetry.js';
import { eventShape } from './event-shape.js';
import { connectNoDelay, whenConnected } from './mqtt-client.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    model: { type: 'string' },
    subscribe: { type: 'string', default: 'bare/+/tx' },
    event: { type: 'string', default: 'atm' },
    'client-id': { type: 'string', default: `bench-bare-loop-${process.pid}` },
  },
});
if (!values.url || !values.model) {
  console.error(
    'usage: bare-loop --url mqtt://HOST:PORT --model FILE.onnx [--subscribe FILTER] [--event atm|wide]',
  );
  process.exit(2);
}

const shape = eventShape(values.event);
const width = shape.featureCount;

// As the gateway does: onnxruntime's telemetry thread and its uploads are off (adapters/onnx/telemetry.ts).
disableOnnxTelemetry();
const ort = await import('onnxruntime-node');
const session = await ort.InferenceSession.create(values.model, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // Spinning intra-op threads burn a core that the broker and the load generator need on a 2-core box.
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
const inputName = session.inputNames[0];
const outputName = session.outputNames[0];

const client = connectNoDelay(values.url, {
  protocolVersion: 5,
  clientId: values['client-id'],
  clean: true,
  keepalive: 30,
  reconnectPeriod: 1000,
});
client.on('error', (err) => console.error(`bare-loop: mqtt: ${err.message}`));

let failures = 0;

async function handle(topic: string, payload: Buffer, responseTopic?: string, correlationData?: Buffer) {
  const event = JSON.parse(payload.toString('utf8')) as { id: string };
  const row = shape.features(event, new Float32Array(width));
  const result = await session.run({ [inputName]: new ort.Tensor('float32', row, [1, width]) });
  const score = Number((result[outputName].data as Float32Array)[0]);
  const reply = JSON.stringify({ id: event.id, decision: shape.decision(score), score });
  const to = responseTopic ?? topic.replace(/\/tx$/, '/decision');
  client.publish(to, reply, { qos: 1, properties: correlationData ? { correlationData } : {} });
}

client.on('message', (topic, payload, packet) => {
  handle(topic, payload, packet.properties?.responseTopic, packet.properties?.correlationData).catch(
    (err) => {
      // One bad message must not end the baseline run; the load generator counts it as unanswered.
      if (failures++ < 10) console.error(`bare-loop: ${(err as Error).message}`);
    },
  );
});

await whenConnected(client);
await client.subscribeAsync(values.subscribe, { qos: 1 });
process.stdout.write('ready\n');

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  client.end(false, () => {
    void session.release().finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started by the orchestrator with an IPC channel: the channel closes when the orchestrator dies.
process.on('disconnect', stop);
