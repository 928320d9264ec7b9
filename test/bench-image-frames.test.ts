/**
 * The image bench's inputs: its camera frames are ~1 MP JPEGs, the same bytes for a seed, distinct from each
 * other; its generated gateway config is a valid image pipeline. No broker, no network.
 */
import sharp from 'sharp';
import t from 'tap';
import { configFromObject } from '../config/load-config.js';
import { FRAME_DEFECTS, makeFramePool } from '../bench/image-frames.js';
import { imageGatewayConfig, IMAGE_PIPELINE } from '../bench/image-gateway-config.js';
import { repoRoot } from '../bench/repo-root.js';

const POOL = { count: 3, width: 1280, height: 800, seed: 5, quality: 90 };

t.test('frames: deterministic ~1 MP JPEGs, distinct within a pool', async (t) => {
  const a = await makeFramePool(POOL);
  const b = await makeFramePool(POOL);
  const other = await makeFramePool({ ...POOL, count: 1, seed: 6 });
  t.equal(a.length, 3);
  for (const [i, frame] of a.entries()) {
    t.ok(frame.jpeg.equals(b[i]!.jpeg), `frame ${i}: same bytes for the same seed`);
    t.equal(frame.defect, FRAME_DEFECTS[i]);
    t.same([...frame.jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG start-of-image marker');
    const meta = await sharp(frame.jpeg).metadata();
    t.equal(meta.format, 'jpeg');
    const pixels = meta.width! * meta.height!;
    t.ok(pixels >= 900_000 && pixels <= 1_100_000, `~1 MP (${pixels})`);
    // Decodes entirely: a truncated or corrupt JPEG would throw here.
    const { info } = await sharp(frame.jpeg).raw().toBuffer({ resolveWithObject: true });
    t.equal(info.width * info.height, pixels);
    t.ok(frame.jpeg.length > 50_000, `a realistic camera JPEG size (${frame.jpeg.length} bytes)`);
  }
  t.notOk(a[0]!.jpeg.equals(a[1]!.jpeg), 'frames of a pool differ');
  t.notOk(a[0]!.jpeg.equals(other[0]!.jpeg), 'another seed, other frames');
});

t.test('the generated gateway config is a valid image pipeline at the given budget', async (t) => {
  const config = configFromObject(
    imageGatewayConfig({
      repoRoot,
      brokerUrl: 'mqtt://127.0.0.1:1',
      modelPath: '/nonexistent/visual-inspection.onnx',
      stateDir: '/tmp/unused',
      budgetMs: 150,
    }),
  );
  const pipeline = config.pipelines.find((p) => p.name === IMAGE_PIPELINE);
  t.ok(pipeline);
  t.equal(pipeline?.decoder, 'image');
  t.equal(pipeline?.budgetMs, 150);
  t.match(pipeline?.image, { width: 64, height: 64, channels: 1, fit: 'contain', layout: 'nchw' });
  t.equal(config.mqtt.protocolVersion, 5);
});
