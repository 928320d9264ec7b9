/**
 * A resolved DATA reading as the event the pipeline maps: one field per metric name. A metric name may hold
 * `/` (`Line1/Temperature` is one field); a `.` nests, as input mapping paths read it (`Motor.Speed` is
 * `{Motor: {Speed}}`). A missing value (null, bad quality) leaves the field absent.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, InputError } from '../../daemon/errors.js';
import type { EventFields } from '../../daemon/ports.js';
import type { DataReading } from './birth-registry.js';
import type { MetricValue } from './payload.js';
import type { SparkplugTopic } from './topic.js';

/** The event id rule of daemon/event-identity.ts: longer ids are replaced by a hash. */
const MAX_ID_LENGTH = 256;

export function eventFields(
  reading: DataReading,
  topic: SparkplugTopic,
  eventIdMetric: string | null,
): EventFields {
  // No prototype: a metric named `__proto__` or `constructor` is a field like any other.
  const fields = Object.create(null) as EventFields;
  for (const [name, value] of reading.values) {
    if (value !== null) place(fields, name, value);
  }
  fields.id = eventId(reading, topic, eventIdMetric);
  return fields;
}

/** Where two names collide (`a` and `a.b`), the one placed first stays. */
function place(fields: EventFields, name: string, value: MetricValue): void {
  const segments = name.split('.');
  if (segments.some((segment) => segment === '')) {
    if (!Object.hasOwn(fields, name)) fields[name] = value;
    return;
  }
  let node: Record<string, unknown> = fields;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (!Object.hasOwn(node, segment)) node[segment] = Object.create(null) as Record<string, unknown>;
    const next = node[segment];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  const leaf = segments[segments.length - 1]!;
  if (!Object.hasOwn(node, leaf)) node[leaf] = value;
}

/**
 * The configured metric's value (checked as any `id` is), else edge node, device, seq and the payload
 * timestamp: unique per message of a node, the same for its redelivery.
 */
function eventId(reading: DataReading, topic: SparkplugTopic, eventIdMetric: string | null): unknown {
  if (eventIdMetric !== null) {
    const value = reading.values.get(eventIdMetric);
    if (value === undefined || value === null) {
      throw new InputError(
        ErrorCodes.INPUT_FIELD_MISSING,
        `the event id metric ${eventIdMetric} has no value`,
        eventIdMetric,
      );
    }
    return value;
  }
  if (reading.timestamp === null) {
    // seq alone repeats every 256 messages: an id from it would answer a new event with an old decision.
    throw new InputError(
      ErrorCodes.SPARKPLUG_PAYLOAD,
      'DATA without a payload timestamp: no event id can be derived (or set sparkplug.eventIdMetric)',
    );
  }
  const id = `spb:${topic.group}/${topic.edge}/${topic.device ?? ''}:${reading.seq}:${reading.timestamp}`;
  if (id.length <= MAX_ID_LENGTH) return id;
  return `spb:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}
