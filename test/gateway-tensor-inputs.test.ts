import path from 'node:path';
import t from 'tap';
import { requireMosquitto } from './helpers/mosquitto.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import { castModel, sequenceModel, twoInputModel, writeModel } from './helpers/tensor-models.js';

/** Σ values ≥ 10 rejects: the sequence model's one output is the sum of the window. */
const sumRules = {
  threshold: { output: 0, bands: [{ min: 10, decision: 'reject' }], otherwise: 'accept' },
};

function float32Payload(values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer;
}

function int16Payload(values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => buffer.writeInt16LE(v, i * 2));
  return buffer;
}

t.test(
  'binary tensor payloads, a two-input model fed from JSON arrays, per-pipeline payload limits',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { inbox, pub, gateway } = await startGatewayFixture(t, {
      collect: [
        'vib/+/decision',
        'daq/+/decision',
        'parts/+/decision',
        'pixels/+/decision',
        'half/+/decision',
        'infergate/gw-test/deadletter',
      ],
      config: async (dir) => {
        await writeModel(path.join(dir, 'window.onnx'), sequenceModel(2, 256));
        await writeModel(path.join(dir, 'daq.onnx'), sequenceModel(1, 4));
        await writeModel(path.join(dir, 'two.onnx'), twoInputModel());
        await writeModel(path.join(dir, 'pixels.onnx'), castModel('uint8', 4));
        await writeModel(path.join(dir, 'half.onnx'), castModel('float16', 4));
        const onnx = (file: string) => ({ runtime: 'onnx', path: path.join(dir, file), threads: 1 });
        return {
          // 2 KiB windows pass only on the pipeline's own limit.
          extra: { limits: { maxPayloadBytes: 1024 } },
          models: {
            window: onnx('window.onnx'),
            daq: onnx('daq.onnx'),
            two: onnx('two.onnx'),
            pixels: onnx('pixels.onnx'),
            half: onnx('half.onnx'),
          },
          pipelines: [
            {
              name: 'vibration',
              subscribe: 'vib/+/window',
              publish: 'vib/{1}/decision',
              decoder: 'tensor',
              tensor: { dtype: 'float32', shape: [2, 256] },
              maxPayloadBytes: 4096,
              model: 'window',
              budgetMs: 2000,
              fallback: 'review',
              input: { fields: [{ path: 'payload', shape: [2, 256] }] },
              decide: sumRules,
            },
            {
              name: 'daq',
              subscribe: 'daq/+/window',
              publish: 'daq/{1}/decision',
              decoder: 'tensor',
              tensor: { dtype: 'int16', shape: [4] },
              model: 'daq',
              budgetMs: 2000,
              fallback: 'review',
              input: { fields: [{ path: 'payload', shape: [1, 4] }] },
              decide: sumRules,
            },
            {
              name: 'parts',
              subscribe: 'parts/+/ev',
              publish: 'parts/{1}/decision',
              model: 'two',
              budgetMs: 2000,
              fallback: 'review',
              input: {
                tensors: [
                  { tensor: 'meta', fields: ['meta.0', 'meta.1', { path: 'temperature', default: 0 }] },
                  { tensor: 'image', fields: [{ path: 'image', shape: [1, 4, 4] }] },
                ],
              },
              decide: {
                threshold: { output: 0, bands: [{ min: 1, decision: 'reject' }], otherwise: 'accept' },
              },
            },
            ...(['pixels', 'half'] as const).map((name) => ({
              name,
              subscribe: `${name}/+/ev`,
              publish: `${name}/{1}/decision`,
              model: name,
              budgetMs: 2000,
              fallback: 'review',
              input: { fields: [{ path: 'px', shape: [4] }] },
              // uint8: 250.6 → 251, 300 → 255; float16: 0.1 → 0.0999755859375.
              decide: {
                threshold: { output: 0, bands: [{ min: 251, decision: 'reject' }], otherwise: 'accept' },
              },
            })),
          ],
        };
      },
    });

    const quiet = new Array<number>(512).fill(0.001);
    const loud = new Array<number>(512).fill(0.05);
    const send = (topic: string, payload: Buffer, id: string) =>
      pub.publishAsync(topic, payload, { qos: 1, properties: { correlationData: Buffer.from(id) } });
    await send('vib/m1/window', float32Payload(quiet), 'w-quiet');
    await send('vib/m2/window', float32Payload(loud), 'w-loud');
    await send('vib/bad/window', float32Payload(quiet).subarray(0, 2044), 'w-short');
    await send('vib/nan/window', float32Payload([...quiet.slice(0, 7), NaN, ...quiet.slice(8)]), 'w-nan');
    await send('vib/big/window', Buffer.alloc(4100), 'w-big');
    await send('vib/m3/window', float32Payload(loud), 'w-after');
    await send('daq/d1/window', int16Payload([3, 4, -1, 5]), 'd-ok');
    await send('daq/d2/window', Buffer.from([1, 2, 3]), 'd-odd');

    const image = [
      [
        [1, 1, 1, 1],
        [1, 1, 1, 1],
        [1, 1, 1, 1],
        [1, 1, 1, 1],
      ],
    ];
    const dark = image.map((plane) => plane.map((line) => line.map(() => 0.1)));
    await pub.publishAsync('parts/p1/ev', JSON.stringify({ id: 'part-1', image, meta: [2, 3] }), { qos: 1 });
    await pub.publishAsync('parts/p2/ev', JSON.stringify({ id: 'part-2', image: dark, meta: [2, 3] }), {
      qos: 1,
    });
    const ragged = [image[0]!.slice(0, 3)];
    await pub.publishAsync('parts/p3/ev', JSON.stringify({ id: 'part-3', image: ragged, meta: [2, 3] }), {
      qos: 1,
    });

    for (const name of ['pixels', 'half']) {
      await pub.publishAsync(`${name}/a/ev`, JSON.stringify({ id: `${name}-a`, px: [250.6, 1, 2, 3] }), {
        qos: 1,
      });
      await pub.publishAsync(`${name}/b/ev`, JSON.stringify({ id: `${name}-b`, px: [0.1, 1, 2, 3] }), {
        qos: 1,
      });
    }

    // 15 decisions, 5 of them with a dead letter.
    const replies = await inbox.waitFor(20, 20_000);
    const decision = (topic: string) => replies.find((r) => r.topic === topic)?.body;
    const letter = (topic: string) =>
      replies.find((r) => r.topic === 'infergate/gw-test/deadletter' && r.body.topic === topic)?.body;

    t.match(decision('vib/m1/decision'), { decision: 'accept', source: 'model', reason: 'ok' });
    t.ok(Math.abs((decision('vib/m1/decision')?.score as number) - 0.512) < 1e-3, 'score = Σ window');
    t.match(decision('vib/m2/decision'), { decision: 'reject', source: 'model' });
    t.equal(
      decision('vib/m1/decision')?.id,
      `corr:${Buffer.from('w-quiet').toString('hex')}`,
      'id from correlation data',
    );

    t.match(decision('vib/bad/decision'), {
      reason: 'invalid_input',
      source: 'fallback',
      decision: 'review',
      error: { code: 'IG_ERR_INPUT_TENSOR_SIZE' },
    });
    t.match(letter('vib/bad/window'), { code: 'IG_ERR_INPUT_TENSOR_SIZE', size: 2044 });
    t.match(decision('vib/nan/decision'), {
      reason: 'invalid_input',
      error: { code: 'IG_ERR_INPUT_FIELD_INVALID', field: 'payload' },
    });
    t.match(decision('vib/nan/decision')?.error, { message: /index \[7\]/ }, 'the index is named');
    t.match(decision('vib/big/decision'), {
      reason: 'invalid_input',
      error: { code: 'IG_ERR_INPUT_TOO_LARGE' },
    });
    t.match(letter('vib/big/window'), { code: 'IG_ERR_INPUT_TOO_LARGE' });
    t.match(
      decision('vib/m3/decision'),
      { decision: 'reject', source: 'model', reason: 'ok' },
      'next good window',
    );

    t.match(decision('daq/d1/decision'), { decision: 'reject', source: 'model' }, 'int16 3 + 4 - 1 + 5 = 11');
    t.match(decision('daq/d2/decision'), {
      reason: 'invalid_input',
      error: { code: 'IG_ERR_INPUT_TENSOR_SIZE' },
    });

    t.match(decision('parts/p1/decision'), { decision: 'reject', source: 'model' }, 'Σ (i+1)/100 = 1.36');
    t.match(decision('parts/p2/decision'), { decision: 'accept', source: 'model' }, '0.136');
    t.match(decision('parts/p3/decision'), {
      reason: 'invalid_input',
      error: { code: 'IG_ERR_INPUT_FIELD_INVALID', field: 'image' },
    });
    t.match(letter('parts/p3/ev'), { code: 'IG_ERR_INPUT_FIELD_INVALID' });
    t.match(decision('pixels/a/decision'), { decision: 'reject', score: 251 }, 'uint8 input: rounded');
    t.match(decision('pixels/b/decision'), { decision: 'accept', score: 0 });
    t.match(
      decision('half/a/decision'),
      { decision: 'accept', score: 250.625 },
      'float16 input: nearest half',
    );
    t.match(decision('half/b/decision'), { decision: 'accept', score: 0.099976 });
    t.equal(gateway.child.exitCode, null, 'daemon alive');
  },
);
