/**
 * The `sparkplug` section (the gateway as a Sparkplug B Host Application) and the checks that tie it to the
 * pipelines that use `decoder: sparkplug`.
 */
import {
  NAMESPACE,
  hostSubscriptions,
  parseDataFilter,
  scopesCross,
  type NodeScope,
} from '../adapters/sparkplug/topic.js';
import type { PipelineConfig } from '../daemon/config.js';
import { filtersOverlap, stripSharePrefix, validateSubscriptionFilter } from '../daemon/topics.js';
import { ConfigProblems, isPlainObject } from './config-problems.js';
import { type SchemaNode, enumKey, intKey, leaf } from './schema-leaf.js';
import { patternProblem, textProblem } from './value-checks.js';

/** Sparkplug ids are single topic levels (3.0 §4.1.1): no `/`, `+`, `#`. */
export const SPARKPLUG_ID_PATTERN = /^[^/+#\s]+$/;
const METRIC_NAME_MAX = 256;

const metricName = (v: unknown): string | null => textProblem(v, METRIC_NAME_MAX);

export function sparkplugSchema(): SchemaNode {
  const metric = (doc: string, env: string, defaultValue: string | null = null) =>
    leaf({ doc, env, nullable: true }, defaultValue, 'infergate-optional-string', metricName);
  return {
    hostId: leaf(
      {
        doc: 'Sparkplug Host Application id: publishes spBv1.0/STATE/<hostId> (retained; offline as Will); null: no STATE.',
        env: 'INFERGATE_SPARKPLUG_HOST_ID',
        nullable: true,
      },
      null,
      'infergate-optional-string',
      (v) => patternProblem(v, SPARKPLUG_ID_PATTERN, 'one topic level without /, +, # or spaces', 64),
    ),
    rebirthMinIntervalMs: intKey(
      {
        doc: 'At most one rebirth request (NCMD Node Control/Rebirth) per edge node this often, milliseconds.',
        env: 'INFERGATE_SPARKPLUG_REBIRTH_MIN_INTERVAL_MS',
      },
      5000,
      100,
      3600000,
    ),
    eventIdMetric: metric(
      'Metric whose value is the event id; null: derived from edge node, device, seq and timestamp.',
      'INFERGATE_SPARKPLUG_EVENT_ID_METRIC',
    ),
    commands: {
      mode: enumKey(
        {
          doc: 'Decision back to the device as DCMD (NCMD for NDATA): off, also (with the JSON decision), instead (of it).',
          env: 'INFERGATE_SPARKPLUG_COMMANDS_MODE',
        },
        'off',
        ['off', 'also', 'instead'],
      ),
      decisionMetric: metric(
        'String metric the decision is written to (e.g. Inspection/Decision).',
        'INFERGATE_SPARKPLUG_COMMANDS_DECISION_METRIC',
      ),
      rejectMetric: metric(
        'Boolean metric, true when the decision is rejectDecision (e.g. Inspection/Reject).',
        'INFERGATE_SPARKPLUG_COMMANDS_REJECT_METRIC',
      ),
      rejectDecision: leaf(
        {
          doc: 'The decision that sets rejectMetric true.',
          env: 'INFERGATE_SPARKPLUG_COMMANDS_REJECT_DECISION',
        },
        'reject',
        'infergate-string',
        (v) => textProblem(v, 64),
      ),
      scoreMetric: metric(
        'Double metric the score is written to; fallback decisions write none.',
        'INFERGATE_SPARKPLUG_COMMANDS_SCORE_METRIC',
      ),
    },
  };
}

/** The section as convict holds it (the same shape as SparkplugConfig). */
export interface SparkplugSection {
  hostId: string | null;
  rebirthMinIntervalMs: number;
  eventIdMetric: string | null;
  commands: {
    mode: 'off' | 'also' | 'instead';
    decisionMetric: string | null;
    rejectMetric: string | null;
    rejectDecision: string;
    scoreMetric: string | null;
  };
}

/** Rules across the section and the pipelines, on values each valid on its own. */
export function sparkplugProblems(
  section: SparkplugSection,
  pipelines: readonly PipelineConfig[],
  problems: ConfigProblems,
): void {
  const { commands } = section;
  if (
    (commands.mode === 'also' || commands.mode === 'instead') &&
    commands.decisionMetric === null &&
    commands.rejectMetric === null &&
    commands.scoreMetric === null
  ) {
    problems.add(
      'sparkplug.commands.mode',
      `is ${commands.mode}: name at least one of decisionMetric, rejectMetric, scoreMetric to write`,
    );
  }
  if (commands.mode === 'instead' && !pipelines.some((p) => p.decoder === 'sparkplug')) {
    problems.add('sparkplug.commands.mode', 'is instead, but no pipeline uses decoder: sparkplug');
  }
}

/**
 * Pipeline rules of the Sparkplug namespace, on the raw entries (like the other cross-pipeline checks):
 * a `sparkplug` pipeline subscribes to one DATA filter; `spBv1.0/…` topics are read by the Sparkplug
 * decoder only and never published to as JSON; and two Sparkplug pipelines cover disjoint or nested sets
 * of edge nodes (partly overlapping node subscriptions would deliver some messages twice, which reads as a
 * seq gap).
 */
export function sparkplugPipelineProblems(raw: readonly unknown[], problems: ConfigProblems): void {
  const scopes: { index: number; scope: NodeScope }[] = [];
  const jsonFilters: { index: number; filter: string }[] = [];
  raw.forEach((value, index) => {
    if (!isPlainObject(value)) return;
    const path = `pipelines[${index}]`;
    const subscribe = typeof value.subscribe === 'string' ? value.subscribe : null;
    if (typeof value.publish === 'string' && value.publish.startsWith(`${NAMESPACE}/`)) {
      problems.add(
        `${path}.publish`,
        `must not be in the Sparkplug namespace (${NAMESPACE}/…): decisions go back as DCMD/NCMD (sparkplug.commands)`,
      );
    }
    if (subscribe === null || validateSubscriptionFilter(subscribe) !== null) return;
    if (value.decoder === 'sparkplug') {
      const parsed = parseDataFilter(subscribe);
      if (typeof parsed === 'string') problems.add(`${path}.subscribe`, parsed);
      else scopes.push({ index, scope: { group: parsed.group, edge: parsed.edge } });
    } else if (stripSharePrefix(subscribe).startsWith(`${NAMESPACE}/`)) {
      problems.add(`${path}.subscribe`, `is in the Sparkplug namespace: use decoder: sparkplug`);
    } else {
      jsonFilters.push({ index, filter: subscribe });
    }
  });
  scopes.forEach(({ index, scope }, i) => {
    for (const earlier of scopes.slice(0, i)) {
      if (scopesCross(earlier.scope, scope)) {
        problems.add(
          `pipelines[${index}].subscribe`,
          `covers some but not all edge nodes of pipelines[${earlier.index}].subscribe: Sparkplug pipelines must name the same, nested or disjoint edge nodes`,
        );
      }
    }
  });
  const hostFilters = hostSubscriptions(scopes.map(({ scope }) => scope));
  for (const { index, filter } of jsonFilters) {
    const overlap = hostFilters.find((host) => filtersOverlap(host, filter));
    if (overlap !== undefined) {
      problems.add(
        `pipelines[${index}].subscribe`,
        `can match the Sparkplug messages the host subscribes to (${overlap})`,
      );
    }
  }
}
