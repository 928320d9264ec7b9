import { hash } from 'node:crypto';
import { ErrorCodes, InputError } from './errors.js';
import type { EventFields } from './ports.js';

const MAX_ID_LENGTH = 256;
const MAX_CORRELATION_BYTES = 128;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function sha256Hex(payload: Buffer): string {
  return hash('sha256', payload, 'hex');
}

/**
 * The id that makes redeliveries idempotent: the payload's `id`, else the MQTT 5 Correlation Data, else the
 * payload's content hash (so an identical redelivered packet maps to the same row).
 */
export function eventIdOf(
  fields: EventFields | undefined,
  correlation: Buffer | undefined,
  payloadSha256: string,
): string {
  if (fields !== undefined && Object.hasOwn(fields, 'id')) return validId(fields.id);
  if (correlation !== undefined && correlation.length > 0 && correlation.length <= MAX_CORRELATION_BYTES) {
    return `corr:${correlation.toString('hex')}`;
  }
  return `sha256:${payloadSha256.slice(0, 32)}`;
}

function validId(id: unknown): string {
  if (typeof id === 'string') {
    if (id.length === 0 || id.length > MAX_ID_LENGTH || CONTROL_CHARACTERS.test(id)) {
      throw new InputError(
        ErrorCodes.INPUT_FIELD_INVALID,
        `id must be 1–${MAX_ID_LENGTH} characters without control characters`,
        'id',
      );
    }
    return id;
  }
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  throw new InputError(ErrorCodes.INPUT_FIELD_INVALID, 'id must be a string or a safe integer', 'id');
}
