/**
 * The `image` decoder: the payload is a JPEG/PNG/WebP (or, with `image.field`, a JSON event whose field at
 * that path holds one in base64). The message handler only checks size and format and reads the JSON
 * fields; the decode and resize run afterwards on libvips threads (StagedDecoder), and the preprocessed
 * tensor lands in the event field `image`. Decoded pixels never reach a log line.
 */
import type { ImageConfig, InputLimits } from '../../../daemon/config.js';
import { ErrorCodes, InputError } from '../../../daemon/errors.js';
import { IMAGE_FIELD } from '../../../daemon/pipeline.js';
import type { EventFields, StagedDecoder } from '../../../daemon/ports.js';
import { createJsonDecoder } from '../json-decoder.js';
import { preprocessImage, sniffImageFormat, type ImagePreprocessSpec } from './preprocess.js';

/** An image pipeline's payload limit when it sets no `maxPayloadBytes`: a high-quality 12 MP JPEG fits. */
export const DEFAULT_IMAGE_MAX_PAYLOAD_BYTES = 8_388_608;

export interface ImageDecoderDeps {
  image: ImageConfig;
  /** The pipeline's own `maxPayloadBytes`, or null for DEFAULT_IMAGE_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes: number | null;
  /** For the JSON envelope of `field` mode (its depth limit). */
  limits: InputLimits;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function createImageDecoder(deps: ImageDecoderDeps): StagedDecoder {
  const { image } = deps;
  const maxPayloadBytes = deps.maxPayloadBytes ?? DEFAULT_IMAGE_MAX_PAYLOAD_BYTES;
  const spec: ImagePreprocessSpec = {
    width: image.width,
    height: image.height,
    channels: image.channels,
    fit: image.fit,
    scale: image.scale,
    mean: image.mean,
    std: image.std,
    layout: image.layout,
    maxInputPixels: image.maxInputPixels,
  };
  const field = image.field;
  if (field === null) {
    return {
      keepsPayload: false,
      decode: (payload) => {
        checkSize(payload.length, maxPayloadBytes);
        if (sniffImageFormat(payload) === undefined) {
          throw new InputError(ErrorCodes.INPUT_IMAGE_FORMAT, 'payload is not a JPEG, PNG or WebP image');
        }
        return Object.create(null) as EventFields;
      },
      complete: async (fields, payload) => withImage(fields, await preprocessImage(payload, spec)),
    };
  }
  const json = createJsonDecoder({ limits: { maxPayloadBytes, maxDepth: deps.limits.maxDepth } });
  const segments = field.split('.');
  return {
    keepsPayload: false,
    decode: (payload) => {
      const fields = json(payload);
      const value = valueAt(fields, segments);
      if (value === undefined) {
        throw new InputError(ErrorCodes.INPUT_FIELD_MISSING, `${field} is missing`, field);
      }
      if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
        throw new InputError(ErrorCodes.INPUT_FIELD_INVALID, `${field} must be a base64 string`, field);
      }
      return fields;
    },
    complete: async (fields) => {
      const bytes = Buffer.from(valueAt(fields, segments) as string, 'base64');
      try {
        return withImage(fields, await preprocessImage(bytes, spec));
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError(error.code, `${field}: ${error.message}`, field, { cause: error.cause });
      }
    },
  };
}

function checkSize(size: number, maxPayloadBytes: number): void {
  if (size > maxPayloadBytes) {
    throw new InputError(
      ErrorCodes.INPUT_TOO_LARGE,
      `payload is ${size} bytes, more than the pipeline's maxPayloadBytes (${maxPayloadBytes})`,
    );
  }
  if (size === 0) throw new InputError(ErrorCodes.INPUT_EMPTY, 'payload is empty');
}

function valueAt(fields: EventFields, segments: readonly string[]): unknown {
  let value: unknown = fields;
  for (const key of segments) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The event's fields plus the tensor; the fields object came from this decoder, so it is extended in place. */
function withImage(fields: EventFields, tensor: Float32Array): EventFields {
  fields[IMAGE_FIELD] = tensor;
  return fields;
}
