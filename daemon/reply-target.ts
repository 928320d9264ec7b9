import { ErrorCodes, TopicError } from './errors.js';
import type { InboundMessage } from './ports.js';
import type { Pipeline } from './pipeline.js';
import { matchTopic, renderTopicTemplate, validatePublishTopic } from './topics.js';

/**
 * Where an event's decision goes: the MQTT 5 Response Topic when the request carried one, else the
 * pipeline's `publish` template filled with the subscription's captures.
 *
 * Every outbound topic is checked here, before it reaches MQTT.js: a single publish to a topic with a
 * wildcard gets the client disconnected [MQTT-3.3.2-2], and MQTT.js re-sends the stored packet first on
 * every reconnect, so one bad topic would keep the gateway offline for good.
 */
export function replyTopicFor(pipeline: Pipeline, message: InboundMessage, captures: string[]): string {
  if (message.responseTopic !== undefined) return checkedResponseTopic(pipeline, message.responseTopic);
  return templateTopic(pipeline, captures);
}

export function templateTopic(pipeline: Pipeline, captures: string[]): string {
  const topic = renderTopicTemplate(pipeline.config.publish, captures);
  const problem = validatePublishTopic(topic);
  if (problem !== null) {
    throw new TopicError(ErrorCodes.TOPIC_INVALID, `output topic is not publishable: ${problem}`);
  }
  return topic;
}

function checkedResponseTopic(pipeline: Pipeline, responseTopic: string): string {
  const problem = validatePublishTopic(responseTopic);
  if (problem !== null) {
    throw new TopicError(ErrorCodes.TOPIC_INVALID, `response topic is not publishable: ${problem}`);
  }
  // Without an allow-list a requester could aim our decisions at any topic (another device's commands).
  const allowed = pipeline.config.responseTopics.some((filter) => matchTopic(filter, responseTopic) !== null);
  if (!allowed) {
    throw new TopicError(
      ErrorCodes.TOPIC_NOT_ALLOWED,
      `response topic does not match the pipeline's responseTopics`,
    );
  }
  return responseTopic;
}

/** The reply topic of an event read back from the inbox, or null when it no longer passes the checks. */
export function replyTopicForStored(
  pipeline: Pipeline,
  stored: { topic: string; responseTopic: string | null },
): string | null {
  const captures = pipeline.match(stored.topic) ?? [];
  try {
    return stored.responseTopic === null
      ? templateTopic(pipeline, captures)
      : checkedResponseTopic(pipeline, stored.responseTopic);
  } catch {
    return null;
  }
}
