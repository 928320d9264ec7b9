import sharp from 'sharp';
import t from 'tap';
import {
  imageSpecProblems,
  preprocessImage,
  sniffImageFormat,
  type ImagePreprocessSpec,
} from '../adapters/decoders/image/preprocess.js';
import { ErrorCodes, InputError } from '../daemon/errors.js';
import {
  corruptJpeg,
  hugeDeclaredPng,
  noiseImage,
  solidImage,
  truncatedJpeg,
} from './helpers/image-fixtures.js';

const GREY_64: ImagePreprocessSpec = {
  width: 64,
  height: 64,
  channels: 1,
  fit: 'contain',
  scale: 1 / 255,
  mean: [0],
  std: [1],
  layout: 'nchw',
  maxInputPixels: 4_000_000,
};

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError, got a result');
}

t.test('a grey PNG becomes a 1×64×64 tensor of p/255', async (t) => {
  const png = await solidImage('png', 100, 100, { r: 128, g: 128, b: 128 });
  const out = await preprocessImage(png, GREY_64);
  t.equal(out.length, 64 * 64);
  t.ok(
    out.every((v) => Math.abs(v - 128 / 255) < 1e-6),
    'every value is 128/255',
  );
});

t.test('RGB in nchw is planar and in nhwc interleaved, with mean/std per channel', async (t) => {
  const red = await solidImage('png', 10, 10, { r: 255, g: 0, b: 0 });
  const spec: ImagePreprocessSpec = {
    ...GREY_64,
    width: 4,
    height: 2,
    channels: 3,
    fit: 'fill',
    mean: [0.5, 0, 0],
    std: [0.5, 1, 2],
  };
  const planar = await preprocessImage(red, spec);
  t.same(Array.from(planar), [...Array(8).fill(1), ...Array(8).fill(0), ...Array(8).fill(0)]);
  const interleaved = await preprocessImage(red, { ...spec, layout: 'nhwc' });
  t.same(Array.from(interleaved), Array.from({ length: 8 }, () => [1, 0, 0]).flat());
});

t.test('contain letterboxes with black; cover and fill do not', async (t) => {
  const wide = await solidImage('png', 128, 64, { r: 255, g: 255, b: 255 });
  const contain = await preprocessImage(wide, GREY_64);
  t.equal(contain[0], 0, 'the top row is padding');
  t.equal(contain[63 * 64 + 32], 0, 'the bottom row is padding');
  t.ok(Math.abs(contain[32 * 64 + 32]! - 1) < 1e-6, 'the middle is the picture');
  const cover = await preprocessImage(wide, { ...GREY_64, fit: 'cover' });
  t.ok(
    cover.every((v) => Math.abs(v - 1) < 1e-6),
    'cover fills the square',
  );
  const fill = await preprocessImage(wide, { ...GREY_64, fit: 'fill' });
  t.ok(
    fill.every((v) => Math.abs(v - 1) < 1e-6),
    'fill stretches',
  );
});

t.test('the EXIF orientation is applied before resizing', async (t) => {
  // 40 wide × 20 high, left half white: orientation 6 (rotate 90° clockwise) puts the white half on top.
  const pixels = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++)
    for (let x = 0; x < 20; x++) pixels.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
  const jpeg = await sharp(pixels, { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const out = await preprocessImage(jpeg, { ...GREY_64, width: 20, height: 40, fit: 'fill' });
  t.ok(out[5 * 20 + 10]! > 0.9, 'top is white');
  t.ok(out[35 * 20 + 10]! < 0.1, 'bottom is black');
});

t.test('JPEG, PNG and WebP decode; the format is sniffed from the bytes', async (t) => {
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    const image = await noiseImage(format, 120, 80);
    t.equal(sniffImageFormat(image), format);
    const out = await preprocessImage(image, { ...GREY_64, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] });
    t.equal(out.length, 3 * 64 * 64, format);
    t.ok(
      out.every((v) => v >= 0 && v <= 1),
      `${format} values are in [0, 1]`,
    );
  }
});

t.test('bad images are InputErrors with image codes', async (t) => {
  t.equal(
    (await rejection(preprocessImage(Buffer.from('{"id":"x"}'), GREY_64))).code,
    ErrorCodes.INPUT_IMAGE_FORMAT,
  );
  const gif = Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1');
  t.equal((await rejection(preprocessImage(gif, GREY_64))).code, ErrorCodes.INPUT_IMAGE_FORMAT);
  t.equal((await rejection(preprocessImage(corruptJpeg(), GREY_64))).code, ErrorCodes.INPUT_IMAGE_CORRUPT);
  t.equal(
    (await rejection(preprocessImage(await truncatedJpeg(), GREY_64))).code,
    ErrorCodes.INPUT_IMAGE_CORRUPT,
  );
  const bomb = await hugeDeclaredPng();
  t.ok(bomb.length < 1024, 'the bomb is a small file');
  const tooLarge = await rejection(preprocessImage(bomb, GREY_64));
  t.equal(tooLarge.code, ErrorCodes.INPUT_IMAGE_TOO_LARGE);
  t.match(tooLarge.message, /100000x100000/);
  const big = await noiseImage('png', 300, 300);
  t.equal(
    (await rejection(preprocessImage(big, { ...GREY_64, maxInputPixels: 300 * 299 }))).code,
    ErrorCodes.INPUT_IMAGE_TOO_LARGE,
  );
});

t.test('spec problems are reported per key', async (t) => {
  t.same(imageSpecProblems(GREY_64), []);
  const keys = imageSpecProblems({
    ...GREY_64,
    width: 0,
    channels: 3,
    scale: 0,
    maxInputPixels: -1,
  }).map(([key]) => key);
  t.same(keys, ['width', 'scale', 'mean', 'std', 'maxInputPixels']);
});
