import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createPipelineDecoders, createTensorDecoder } from '../adapters/decoders/index.js';
import { createOnnxModel } from '../adapters/onnx/model.js';
import { loadConfig } from '../config/load-config.js';
import { ConfigError, ErrorCodes, InputError } from '../daemon/errors.js';
import { compileInputRow } from '../daemon/input-mapping-row.js';
import { vibrationRmsModelBytes } from '../tools/dev/vibration-model.js';
import { modelConfig, packageRoot, silentLogger, tempDir } from './helpers/onnx-fixtures.js';
import { thrown } from './helpers/thrown.js';

const inputError = (fn: () => unknown): InputError => thrown(fn, InputError);

t.test('float32 and int16 payloads become a Float32Array at field payload', async (t) => {
  const f32 = createTensorDecoder({ tensor: { dtype: 'float32', shape: [2, 2] }, maxPayloadBytes: 64 });
  const bytes = Buffer.alloc(17);
  [1.5, -2, 3.25, 1e-3].forEach((v, i) => bytes.writeFloatLE(v, 1 + i * 4));
  // An unaligned view into a larger buffer, as a socket read may hand it over.
  const event = f32(bytes.subarray(1), 't');
  t.ok(event.payload instanceof Float32Array);
  t.strictSame([...(event.payload as Float32Array)], [1.5, -2, 3.25, Math.fround(1e-3)]);
  t.strictSame(Object.keys(event), ['payload']);

  const i16 = createTensorDecoder({ tensor: { dtype: 'int16', shape: [3] }, maxPayloadBytes: 64 });
  const counts = Buffer.alloc(6);
  [-32768, 0, 32767].forEach((v, i) => counts.writeInt16LE(v, i * 2));
  t.strictSame([...(i16(counts, 't').payload as Float32Array)], [-32768, 0, 32767]);

  const size = inputError(() => i16(Buffer.alloc(5), 't'));
  t.equal(size.code, ErrorCodes.INPUT_TENSOR_SIZE);
  t.equal(size.field, 'payload');
  t.match(size.message, /payload is 5 bytes; a int16 \[3\] tensor is 6/);
  t.equal(inputError(() => i16(Buffer.alloc(0), 't')).code, ErrorCodes.INPUT_EMPTY);
  t.equal(inputError(() => f32(Buffer.alloc(65), 't')).code, ErrorCodes.INPUT_TOO_LARGE);
  t.throws(
    () => createTensorDecoder({ tensor: { dtype: 'float32', shape: [0] }, maxPayloadBytes: 1 }),
    ConfigError,
  );
});

t.test('per-pipeline decoders take the pipeline payload limit', async (t) => {
  const decoders = createPipelineDecoders({ maxPayloadBytes: 8, maxDepth: 8 });
  const pipeline = { name: 'p', decoder: 'json' } as Parameters<typeof decoders.json.forPipeline>[0];
  const small = decoders.json.forPipeline(pipeline);
  t.equal(inputError(() => small(Buffer.from('{"a":12345}'), 't')).code, ErrorCodes.INPUT_TOO_LARGE);
  const large = decoders.json.forPipeline({ ...pipeline, maxPayloadBytes: 64 });
  t.same(large(Buffer.from('{"a":12345}'), 't'), { a: 12345 });
  t.throws(() => decoders.tensor.forPipeline({ ...pipeline, decoder: 'tensor' }), ConfigError);
});

t.test('config/examples/vibration.yaml: windows decoded, mapped and scored by the RMS model', async (t) => {
  const config = loadConfig(path.join(packageRoot, 'config', 'examples', 'vibration.yaml'), { env: {} });
  const pipeline = config.pipelines[0]!;
  t.same(pipeline.tensor, { dtype: 'float32', shape: [3, 256] });
  t.equal(pipeline.maxPayloadBytes, 4096);

  const file = path.join(tempDir(t), 'vibration-rms.onnx');
  writeFileSync(file, vibrationRmsModelBytes());
  const model = createOnnxModel({ logger: silentLogger, model: modelConfig({ path: file }) });
  t.teardown(() => model.dispose());
  const info = await model.load();
  const decode = createPipelineDecoders(config.limits).tensor.forPipeline(pipeline);
  const row = compileInputRow(pipeline.input!, info, pipeline.name);
  t.equal(row.width, 768);

  const window = (amplitude: number): Buffer => {
    const bytes = Buffer.alloc(3072);
    for (let i = 0; i < 768; i++) bytes.writeFloatLE(amplitude * Math.sin(i / 3), i * 4);
    return bytes;
  };
  const rows = new Float32Array(2 * 768);
  row.fill(decode(window(0.1), 'plant/press1/vibration'), rows, 0);
  row.fill(decode(window(2), 'plant/press1/vibration'), rows, 768);
  const { outputs } = await model.run(rows, 2);
  t.ok(outputs[0]! < 0.01, 'a calm window scores near 0');
  t.ok(outputs[1]! > 0.99, 'a shaking window scores near 1');
});
