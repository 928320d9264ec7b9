import type { Metadata } from 'sharp';
import type { ImagePreprocessSpec } from '../../../daemon/config.js';
import { ErrorCodes, InputError } from '../../../daemon/errors.js';
import { loadSharp } from './sharp-loader.js';

/**
 * How an image becomes a model input: the decoded picture is oriented by its EXIF tag, resized to
 * `width`×`height`, reduced to `channels`, and each 8-bit pixel value p becomes
 * `(p * scale - mean[c]) / std[c]`, laid out as `nchw` (planes) or `nhwc` (interleaved).
 */
export type { ImagePreprocessSpec };

/** The formats accepted; anything else (SVG, TIFF, GIF, HEIF, ...) is refused before libvips sees it. */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Largest side the preprocessing accepts as a target; a model input beyond this is a config mistake. */
export const MAX_TARGET_SIDE = 4096;

/** Problems with a spec, as `[key, message]` pairs (empty when it is usable); config validation reports them. */
export function imageSpecProblems(spec: ImagePreprocessSpec): [string, string][] {
  const problems: [string, string][] = [];
  for (const key of ['width', 'height'] as const) {
    const side = spec[key];
    if (!Number.isInteger(side) || side < 1 || side > MAX_TARGET_SIDE) {
      problems.push([key, `must be an integer from 1 to ${MAX_TARGET_SIDE}`]);
    }
  }
  if (spec.channels !== 1 && spec.channels !== 3) problems.push(['channels', 'must be 1 or 3']);
  if (!['fill', 'contain', 'cover'].includes(spec.fit))
    problems.push(['fit', 'must be fill, contain or cover']);
  if (!['nchw', 'nhwc'].includes(spec.layout)) problems.push(['layout', 'must be nchw or nhwc']);
  if (!Number.isFinite(spec.scale) || spec.scale === 0)
    problems.push(['scale', 'must be a finite non-zero number']);
  if (spec.mean.length !== spec.channels || !spec.mean.every(Number.isFinite)) {
    problems.push(['mean', `must hold ${spec.channels} finite number(s), one per channel`]);
  }
  if (spec.std.length !== spec.channels || !spec.std.every((s) => Number.isFinite(s) && s !== 0)) {
    problems.push(['std', `must hold ${spec.channels} finite non-zero number(s), one per channel`]);
  }
  if (!Number.isSafeInteger(spec.maxInputPixels) || spec.maxInputPixels < 1) {
    problems.push(['maxInputPixels', 'must be a positive integer']);
  }
  return problems;
}

/** The container format named by the first bytes, or undefined: JPEG SOI, PNG signature, RIFF/WEBP. */
export function sniffImageFormat(bytes: Buffer): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    return 'png';
  }
  if (
    bytes.length >= 12 &&
    bytes.toString('latin1', 0, 4) === 'RIFF' &&
    bytes.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

/**
 * Decodes a JPEG/PNG/WebP and returns the normalised tensor (length channels×height×width).
 * Throws InputError: IG_ERR_INPUT_IMAGE_FORMAT (not one of the accepted formats),
 * IG_ERR_INPUT_IMAGE_TOO_LARGE (declared size over `maxInputPixels`), IG_ERR_INPUT_IMAGE_CORRUPT
 * (libvips could not decode it, including truncated data).
 */
export async function preprocessImage(bytes: Buffer, spec: ImagePreprocessSpec): Promise<Float32Array> {
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new InputError(ErrorCodes.INPUT_IMAGE_FORMAT, 'payload is not a JPEG, PNG or WebP image');
  }
  // The header is read first so an oversized declaration is told apart from a broken file; the
  // same limit is passed to the decoder as well, so a header that lies still cannot allocate more.
  const sharp = await loadSharp();
  const options = { limitInputPixels: spec.maxInputPixels, failOn: 'warning', sequentialRead: true } as const;
  let declared: Metadata;
  try {
    declared = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
  } catch (error) {
    throw corrupt(format, error);
  }
  if (declared.format !== format || declared.width === undefined || declared.height === undefined) {
    throw corrupt(format, undefined);
  }
  if (declared.width * declared.height > spec.maxInputPixels) {
    throw new InputError(
      ErrorCodes.INPUT_IMAGE_TOO_LARGE,
      `${format} declares ${declared.width}x${declared.height} pixels, over the limit of ${spec.maxInputPixels}`,
    );
  }
  let pixels: Buffer;
  try {
    let pipeline = sharp(bytes, options)
      .rotate()
      .resize(spec.width, spec.height, { fit: spec.fit, background: { r: 0, g: 0, b: 0, alpha: 1 } })
      .removeAlpha();
    pipeline = spec.channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== spec.width || info.height !== spec.height || info.channels !== spec.channels) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    }
    pixels = data;
  } catch (error) {
    throw corrupt(format, error);
  }
  return normalise(pixels, spec);
}

function corrupt(format: ImageFormat, cause: unknown): InputError {
  return new InputError(ErrorCodes.INPUT_IMAGE_CORRUPT, `${format} image could not be decoded`, undefined, {
    cause,
  });
}

/** Interleaved 8-bit HWC pixels to the normalised tensor in the configured layout. */
function normalise(pixels: Buffer, spec: ImagePreprocessSpec): Float32Array {
  const channels = spec.channels;
  const plane = spec.width * spec.height;
  const out = new Float32Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    const mul = spec.scale / spec.std[c]!;
    const add = -spec.mean[c]! / spec.std[c]!;
    if (spec.layout === 'nchw') {
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = pixels[i * channels + c]! * mul + add;
    } else {
      for (let i = 0; i < plane; i++) out[i * channels + c] = pixels[i * channels + c]! * mul + add;
    }
  }
  return out;
}
