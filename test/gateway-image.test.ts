import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { INBOX_FILE } from '../daemon/state/schema.js';
import { startGatewayFixture } from './helpers/gateway-fixture.js';
import {
  corruptJpeg,
  hugeDeclaredPng,
  noiseImage,
  solidImage,
  truncatedJpeg,
} from './helpers/image-fixtures.js';
import { CNN_LABELS, writeTinyCnn } from '../tools/dev/tiny-image-cnn.js';
import { requireMosquitto } from './helpers/mosquitto.js';

const image = { width: 64, height: 64, channels: 1, fit: 'contain', scale: 1 / 255, mean: [0], std: [1] };
const decide = {
  argmax: {
    labels: CNN_LABELS,
    decisions: {
      good: 'accept',
      scratch: 'reject',
      missing_hole: 'reject',
      dent: 'reject',
      contamination: 'reject',
    },
    minConfidence: 0,
    lowConfidence: 'review',
  },
};

function cameraPipeline(
  name: string,
  subscribe: string,
  publish: string,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    subscribe,
    publish,
    responseTopics: [],
    decoder: 'image',
    model: 'cnn',
    budgetMs: 5000,
    fallback: 'review',
    maxPayloadBytes: 2_000_000,
    image,
    decide,
    ...extra,
  };
}

t.test(
  'JPEG and PNG frames through Mosquitto get CNN decisions; bad images get invalid_input and a dead letter',
  async (t) => {
    if (!requireMosquitto(t)) return;
    const { gateway, inbox, pub, dir } = await startGatewayFixture(t, {
      collect: ['cam/+/verdict', 'cam64/+/verdict', 'infergate/gw-test/deadletter'],
      config: async (dir) => {
        await writeTinyCnn(join(dir, 'cnn.onnx'));
        return {
          models: { cnn: { runtime: 'onnx', path: join(dir, 'cnn.onnx'), threads: 1 } },
          pipelines: [
            cameraPipeline('camera', 'cam/+/frame', 'cam/{1}/verdict'),
            cameraPipeline('camera-b64', 'cam64/+/frame', 'cam64/{1}/verdict', {
              image: { ...image, field: 'frame.jpeg' },
            }),
          ],
        };
      },
    });

    const white = await solidImage('jpeg', 120, 90, { r: 250, g: 250, b: 250 });
    const dark = await solidImage('png', 80, 80, { r: 5, g: 5, b: 5 });
    const bad: [string, Buffer, string][] = [
      ['corrupt', corruptJpeg(), 'IG_ERR_INPUT_IMAGE_CORRUPT'],
      ['truncated', await truncatedJpeg(), 'IG_ERR_INPUT_IMAGE_CORRUPT'],
      ['bomb', await hugeDeclaredPng(), 'IG_ERR_INPUT_IMAGE_TOO_LARGE'],
      ['not-image', Buffer.from('{"id":"x","amount":5}'), 'IG_ERR_INPUT_IMAGE_FORMAT'],
      ['too-big', await noiseImage('png', 1000, 1000), 'IG_ERR_INPUT_TOO_LARGE'],
    ];
    t.ok(bad[4]![1].length > 2_000_000, 'the noise PNG is over the pipeline limit');

    await pub.publishAsync('cam/white/frame', white, {
      qos: 1,
      properties: { correlationData: Buffer.from('frame-1') },
    });
    await pub.publishAsync('cam/dark/frame', dark, { qos: 1 });
    for (const [name, payload] of bad) await pub.publishAsync(`cam/${name}/frame`, payload, { qos: 1 });
    await pub.publishAsync('cam/after/frame', await solidImage('png', 64, 64, { r: 255, g: 255, b: 255 }), {
      qos: 1,
    });
    const envelope = { id: 'b64-1', line: 3, frame: { jpeg: white.toString('base64') } };
    await pub.publishAsync('cam64/a/frame', JSON.stringify(envelope), { qos: 1 });
    const badEnvelope = { id: 'b64-2', frame: { jpeg: 'bm90IGFuIGltYWdl' } };
    await pub.publishAsync('cam64/b/frame', JSON.stringify(badEnvelope), { qos: 1 });

    const replies = await inbox.waitFor(3 + bad.length * 2 + 1 + 2);
    const verdict = (topic: string) => replies.find((r) => r.topic === topic)?.body;

    t.match(verdict('cam/white/verdict'), {
      source: 'model',
      decision: 'accept',
      id: `corr:${Buffer.from('frame-1').toString('hex')}`,
    });
    t.match(verdict('cam/dark/verdict'), {
      source: 'model',
      decision: 'reject',
      id: /^sha256:[0-9a-f]{32}$/,
    });
    for (const [name, , code] of bad) {
      t.match(
        verdict(`cam/${name}/verdict`),
        { reason: 'invalid_input', decision: 'review', error: { code } },
        name,
      );
      const letter = replies.find(
        (r) => r.topic === 'infergate/gw-test/deadletter' && r.body.topic === `cam/${name}/frame`,
      );
      t.equal(letter?.body.code, code, `${name}: dead letter`);
    }
    t.match(
      verdict('cam/after/verdict'),
      { source: 'model', decision: 'accept' },
      'a good image after the bad ones',
    );
    t.match(verdict('cam64/a/verdict'), { source: 'model', decision: 'accept', id: 'b64-1' }, 'base64 field');
    t.match(
      verdict('cam64/b/verdict'),
      {
        id: 'b64-2',
        reason: 'invalid_input',
        error: { code: 'IG_ERR_INPUT_IMAGE_FORMAT', field: 'frame.jpeg' },
      },
      'a base64 field that is no image',
    );
    t.equal(gateway.child.exitCode, null, 'daemon alive');

    const db = new Database(join(dir, 'state', INBOX_FILE), { readonly: true, fileMustExist: true });
    t.teardown(() => db.close());
    const rows = db
      .prepare("SELECT count(*) AS n, count(payload) AS kept FROM events WHERE pipeline LIKE 'camera%'")
      .get() as { n: number; kept: number };
    t.equal(rows.n, 3 + bad.length + 2, 'every image event is on record');
    t.equal(rows.kept, 0, 'no image payload is kept on record');
  },
);
