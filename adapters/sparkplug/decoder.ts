import { ErrorCodes, InputError } from '../../daemon/errors.js';
import type { PayloadDecoder } from '../../daemon/ports.js';
import type { BirthRegistry, Observation } from './birth-registry.js';
import { eventFields } from './event-fields.js';
import { decodeSparkplugPayload } from './payload.js';
import { parseSparkplugTopic, type SparkplugTopic } from './topic.js';

export interface SparkplugDecoderDeps {
  registry: BirthRegistry;
  /**
   * What the host transport made of each live DATA message as it arrived (in order, seq checked), by the
   * payload buffer the core hands on to the decoder. A buffer not in it (an event read back from the inbox)
   * is resolved against the BIRTH state as it is now.
   */
  observed: WeakMap<Buffer, Observation>;
  eventIdMetric: string | null;
  maxPayloadBytes: number;
  /** Told of each event (not a redelivery) whose decision may go back as a command. */
  onEvent(eventId: string, topic: SparkplugTopic): void;
}

/**
 * The `sparkplug` payload decoder: a DATA message's metrics, resolved through the sender's BIRTH, as event
 * fields. Throws InputError for a refused message (no BIRTH, DEATH, seq gap, unknown alias, bad payload).
 */
export function createSparkplugDecoder(deps: SparkplugDecoderDeps): PayloadDecoder {
  const { registry, observed, eventIdMetric, maxPayloadBytes } = deps;
  return (payload, topicName) => {
    if (payload.length === 0) throw new InputError(ErrorCodes.INPUT_EMPTY, 'empty payload');
    if (payload.length > maxPayloadBytes) {
      throw new InputError(
        ErrorCodes.INPUT_TOO_LARGE,
        `payload of ${payload.length} bytes exceeds limits.maxPayloadBytes (${maxPayloadBytes})`,
      );
    }
    const topic = parseSparkplugTopic(topicName);
    if (topic === null || (topic.type !== 'NDATA' && topic.type !== 'DDATA')) {
      throw new InputError(ErrorCodes.SPARKPLUG_PAYLOAD, 'not a Sparkplug B NDATA or DDATA topic');
    }
    const observation = observed.get(payload) ?? registry.peek(topic, decodeSparkplugPayload(payload));
    const { refusal, reading } = observation;
    if (refusal !== null) throw new InputError(refusal.code, refusal.message, refusal.field);
    const fields = eventFields(reading!, topic, eventIdMetric);
    if (!reading!.repeat) deps.onEvent(String(fields.id), topic);
    return fields;
  };
}
