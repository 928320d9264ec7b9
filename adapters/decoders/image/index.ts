/** The `image` decoder and its preprocessing (sharp / libvips, loaded on first use: sharp-loader.ts). */
import type { InputLimits } from '../../../daemon/config.js';
import type { DecoderFactory } from '../../../daemon/compile-pipelines.js';
import { createImageDecoder } from './image-decoder.js';
import { preloadSharp } from './sharp-loader.js';

export {
  createImageDecoder,
  DEFAULT_IMAGE_MAX_PAYLOAD_BYTES,
  type ImageDecoderDeps,
} from './image-decoder.js';
export { preprocessImage, sniffImageFormat, type ImagePreprocessSpec } from './preprocess.js';
export { configureImageDecoding, loadImageDecoding } from './sharp-loader.js';

/** One image decoder per `decoder: image` pipeline, made from its `image` section. */
export function imageDecoders(limits: InputLimits): DecoderFactory {
  return {
    forPipeline: (config) => {
      preloadSharp();
      return createImageDecoder({ image: config.image!, maxPayloadBytes: config.maxPayloadBytes, limits });
    },
  };
}
