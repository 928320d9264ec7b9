import { ErrorCodes, InputError } from './errors.js';
import type { EventFields } from './ports.js';

/** Earliest and latest accepted event times, ms epoch: a wrong unit (seconds, microseconds) is refused. */
const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
const MAX_EVENT_TIME = Date.UTC(2200, 0, 1);

/** When the event happened, from its timestamp field (epoch ms or ISO 8601); null when no field is configured. */
export function eventTimeOf(fields: EventFields, path: string | null): number | null {
  if (path === null) return null;
  let value: unknown = fields;
  for (const segment of path.split('.')) {
    if (
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      !Object.hasOwn(value, segment)
    ) {
      throw new InputError(ErrorCodes.INPUT_FIELD_MISSING, `missing timestamp field ${path}`, path);
    }
    value = (value as Record<string, unknown>)[segment];
  }
  const time = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(time) || time < MIN_EVENT_TIME || time > MAX_EVENT_TIME) {
    throw new InputError(
      ErrorCodes.INPUT_FIELD_INVALID,
      `${path} must be epoch milliseconds or an ISO 8601 time between 2000 and 2200`,
      path,
    );
  }
  return time;
}

/**
 * Whether an event is too old to deserve a model decision: older than the pipeline's `maxEventAgeMs`
 * (from its own timestamp, else from when the gateway got it), or past its MQTT 5 Message Expiry.
 */
export function isStale(
  now: number,
  event: { receivedAt: number; eventTime: number | null; expiresAt: number | null },
  maxEventAgeMs: number,
): boolean {
  if (event.expiresAt !== null && now >= event.expiresAt) return true;
  return now - (event.eventTime ?? event.receivedAt) > maxEventAgeMs;
}
