import type { Decider } from './decider.js';
import type { InputError, TopicError } from './errors.js';
import { eventIdOf, sha256Hex } from './event-identity.js';
import { eventTimeOf } from './event-time.js';
import { inputProblem } from './input-problem.js';
import type { EventInput, Pipeline } from './pipeline.js';
import type { EventFields, InboundMessage } from './ports.js';
import { replyTopicFor, templateTopic } from './reply-target.js';

/** What the intake learns from one inbound message before anything is stored. */
export interface ReadEvent {
  eventId: string;
  sha256: string;
  /** Where the decision goes; null when no valid topic can be derived (the dead letter is then the answer). */
  replyTopic: string | null;
  /** The model input; absent when `problem` is set. */
  input: EventInput | undefined;
  /** When the event happened, from the pipeline's `timestampField`; null when none is configured. */
  eventTime: number | null;
  /**
   * A staged pipeline's quick fields, for its decode stage to complete (then `input` is absent); undefined
   * otherwise, or when `problem` is set.
   */
  fields: EventFields | undefined;
  /** Why the event is refused, if it is. The first problem found wins. */
  problem: InputError | TopicError | undefined;
  /** Who decides it: the pipeline, or its canary candidate when the event's key falls in its share. */
  decider: Decider;
}

/**
 * Decodes, identifies and maps one message for `pipeline`. Never throws for anything in the message: a bad
 * event still gets an id (from its correlation data or content hash) so it can be answered and deduplicated.
 */
export function readEvent(pipeline: Pipeline, message: InboundMessage, captures: string[]): ReadEvent {
  const sha256 = sha256Hex(message.payload);
  let problem: InputError | TopicError | undefined;
  let fields: EventFields | undefined;
  try {
    fields = pipeline.decoder(message.payload, message.topic);
  } catch (error) {
    problem = inputProblem(error);
  }
  let eventId: string;
  try {
    eventId = eventIdOf(fields, message.correlationData, sha256);
  } catch (error) {
    problem ??= inputProblem(error);
    eventId = eventIdOf(undefined, message.correlationData, sha256);
  }
  let replyTopic: string | null;
  try {
    replyTopic = replyTopicFor(pipeline, message, captures);
  } catch (error) {
    problem ??= inputProblem(error);
    replyTopic = fallbackTopic(pipeline, captures);
  }
  let input: EventInput | undefined;
  let eventTime: number | null = null;
  const staged = pipeline.completeDecode !== null;
  let decider: Decider = pipeline;
  if (problem === undefined) {
    try {
      if (!staged) input = pipeline.encode(fields!);
      eventTime = eventTimeOf(fields!, pipeline.config.timestampField);
    } catch (error) {
      problem = inputProblem(error);
    }
    if (pipeline.canary !== null) decider = pipeline.canary.route(message.topic, fields) ?? pipeline;
  }
  return {
    eventId,
    sha256,
    replyTopic,
    input,
    eventTime,
    fields: staged && problem === undefined ? fields : undefined,
    problem,
    decider,
  };
}

/** A refused response topic still leaves the pipeline's own output topic to answer on. */
function fallbackTopic(pipeline: Pipeline, captures: string[]): string | null {
  try {
    return templateTopic(pipeline, captures);
  } catch {
    return null;
  }
}
