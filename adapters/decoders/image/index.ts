/** The `image` decoder and its preprocessing (sharp / libvips). */
import sharp from 'sharp';
import type { InputLimits } from '../../../daemon/config.js';
import type { DecoderFactory } from '../../../daemon/compile-pipelines.js';
import { createImageDecoder } from './image-decoder.js';

export {
  createImageDecoder,
  DEFAULT_IMAGE_MAX_PAYLOAD_BYTES,
  type ImageDecoderDeps,
} from './image-decoder.js';
export { preprocessImage, sniffImageFormat, type ImagePreprocessSpec } from './preprocess.js';

/** One image decoder per `decoder: image` pipeline, made from its `image` section. */
export function imageDecoders(limits: InputLimits): DecoderFactory {
  return {
    forPipeline: (config) =>
      createImageDecoder({ image: config.image!, maxPayloadBytes: config.maxPayloadBytes, limits }),
  };
}

/**
 * Process-wide libvips settings for a gateway: no operation cache (every image is new; a cache only grows
 * the RSS) and one libvips thread per image, so the decode stage's bound is the bound on the cores used.
 */
export function configureImageDecoding(): void {
  sharp.cache(false);
  sharp.concurrency(1);
}
