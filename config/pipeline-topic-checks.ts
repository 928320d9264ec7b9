import type { ConfigProblems } from './config-problems.js';
import {
  filtersOverlap,
  matchTopic,
  stripSharePrefix,
  templateAsFilter,
  validateSubscriptionFilter,
  validateTopicTemplate,
} from '../daemon/topics.js';

/** Checks between pipelines, on the entries whose topics are individually valid. */
export function checkTopicsAcrossPipelines(
  raw: unknown[],
  gatewayId: string | null,
  problems: ConfigProblems,
): void {
  const valid = raw.map((value) => {
    const entry = value as Record<string, unknown> | null;
    const text = (key: string): string | null =>
      typeof entry?.[key] === 'string' ? (entry[key] as string) : null;
    const subscribe = text('subscribe');
    const publish = text('publish');
    const responses = Array.isArray(entry?.responseTopics) ? (entry.responseTopics as unknown[]) : [];
    return {
      name: text('name'),
      subscribe: subscribe !== null && validateSubscriptionFilter(subscribe) === null ? subscribe : null,
      publish:
        publish !== null && validateTopicTemplate(publish, Number.MAX_SAFE_INTEGER) === null ? publish : null,
      responses: responses.map((f) =>
        typeof f === 'string' && validateSubscriptionFilter(f) === null ? f : null,
      ),
    };
  });

  const firstByName = new Map<string, number>();
  valid.forEach((pipeline, index) => {
    if (pipeline.name === null) return;
    const first = firstByName.get(pipeline.name);
    if (first === undefined) firstByName.set(pipeline.name, index);
    else problems.add(`pipelines[${index}].name`, `duplicates pipelines[${first}].name '${pipeline.name}'`);
  });

  const ownTopics =
    gatewayId === null ? [] : [`infergate/${gatewayId}/status`, `infergate/${gatewayId}/deadletter`];

  valid.forEach((pipeline, index) => {
    const path = `pipelines[${index}]`;
    if (pipeline.subscribe !== null) {
      for (const topic of ownTopics) {
        if (matchTopic(pipeline.subscribe, topic) !== null) {
          problems.add(`${path}.subscribe`, `matches the gateway's own topic ${topic}`);
        }
      }
      for (let other = 0; other < index; other++) {
        const earlier = valid[other]!.subscribe;
        if (earlier !== null && filtersOverlap(earlier, pipeline.subscribe)) {
          problems.add(
            `${path}.subscribe`,
            `overlaps pipelines[${other}].subscribe (${stripSharePrefix(earlier)}): an event must belong to one pipeline`,
          );
        }
      }
    }
    const subscriptions = valid.map((p, i) => ({ filter: p.subscribe, i })).filter((s) => s.filter !== null);
    if (pipeline.publish !== null) {
      const output = templateAsFilter(pipeline.publish);
      for (const { filter, i } of subscriptions) {
        if (filtersOverlap(output, filter!)) {
          problems.add(
            `${path}.publish`,
            `output topics can match pipelines[${i}].subscribe: the gateway would consume its own decisions`,
          );
        }
      }
    }
    pipeline.responses.forEach((response, r) => {
      if (response === null) return;
      for (const { filter, i } of subscriptions) {
        if (filtersOverlap(response, filter!)) {
          problems.add(
            `${path}.responseTopics[${r}]`,
            `can match pipelines[${i}].subscribe: the gateway would consume its own decisions`,
          );
        }
      }
    });
  });
}
