/**
 * `decoder: tensor`: the MQTT payload is one little-endian tensor, as DAQ devices publish vibration or
 * current windows: float32 or int16 values, row-major, no header. The event gets a Float32Array at field
 * `payload` (int16 converted exactly); the pipeline maps it with `{ path: payload, shape: [...] }`. The
 * event id then comes from the MQTT 5 Correlation Data (or the payload's hash): a raw tensor has no `id`.
 */
import type { TensorPayloadConfig } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, InputError, type ConfigProblem } from '../../daemon/errors.js';
import type { EventFields, PayloadDecoder } from '../../daemon/ports.js';

export interface TensorDecoderDeps {
  tensor: TensorPayloadConfig;
  /** The pipeline's payload limit, bytes. */
  maxPayloadBytes: number;
}

/** The event field the decoded tensor is put at. */
export const TENSOR_PAYLOAD_FIELD = 'payload';

const BYTES_PER_VALUE = { float32: 4, int16: 2 } as const;
/** On a little-endian host (x86, ARM as run) a float32 payload is copied byte for byte. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function createTensorDecoder(deps: TensorDecoderDeps): PayloadDecoder {
  const { tensor, maxPayloadBytes } = deps;
  const problems: ConfigProblem[] = [];
  const bytesPerValue = BYTES_PER_VALUE[tensor.dtype];
  if (bytesPerValue === undefined)
    problems.push({ path: 'tensor.dtype', message: 'must be float32 or int16' });
  if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 1) || tensor.shape.length === 0) {
    problems.push({ path: 'tensor.shape', message: 'must be a list of positive integers' });
  }
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1) {
    problems.push({ path: 'maxPayloadBytes', message: 'must be a positive integer' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const values = tensor.shape.reduce((n, d) => n * d, 1);
  const expectedBytes = values * bytesPerValue;
  const shapeText = `${tensor.dtype} [${tensor.shape.join(', ')}]`;

  return function decodeTensor(payload: Buffer): EventFields {
    if (payload.length > maxPayloadBytes) {
      throw new InputError(
        ErrorCodes.INPUT_TOO_LARGE,
        `payload is ${payload.length} bytes, more than the pipeline's limit (${maxPayloadBytes})`,
      );
    }
    if (payload.length === 0) throw new InputError(ErrorCodes.INPUT_EMPTY, 'payload is empty');
    if (payload.length !== expectedBytes) {
      throw new InputError(
        ErrorCodes.INPUT_TENSOR_SIZE,
        `payload is ${payload.length} bytes; a ${shapeText} tensor is ${expectedBytes}`,
        TENSOR_PAYLOAD_FIELD,
      );
    }
    const out = new Float32Array(values);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (tensor.dtype === 'float32' && HOST_IS_LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(payload);
    } else if (tensor.dtype === 'float32') {
      for (let i = 0; i < values; i++) out[i] = view.getFloat32(i * 4, true);
    } else {
      for (let i = 0; i < values; i++) out[i] = view.getInt16(i * 2, true);
    }
    return { [TENSOR_PAYLOAD_FIELD]: out };
  };
}
