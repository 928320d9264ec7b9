import type { CanaryConfig, CanaryKey } from '../daemon/config.js';
import { stripSharePrefix, validateSubscriptionFilter } from '../daemon/topics.js';
import { ConfigProblems, childPath, readMapping } from './config-problems.js';
import { integerProblem, numberProblem } from './value-checks.js';

const CANARY_KEYS = [
  'model',
  'share',
  'key',
  'maxFallbackRate',
  'maxP99Ms',
  'minEvents',
  'windowSec',
] as const;
const MAX_TOPIC_LEVELS = 128;
const FIELD_PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** Bounds and defaults of the numeric canary keys; `default: null` means required (maxP99Ms: budgetMs). */
export const CANARY_LIMITS = {
  maxFallbackRate: { min: 0, max: 1, default: 0.05 },
  maxP99Ms: { min: 1, max: 600000, default: null },
  minEvents: { min: 1, max: 1000000, default: 50 },
  windowSec: { min: 1, max: 86400, default: 300 },
} as const;

export interface RolloutContext {
  modelNames: ReadonlySet<string>;
  modelRuntimes?: ReadonlyMap<string, unknown>;
}

/**
 * A candidate model (shadow or canary) takes the live model's input row as it is: both must be tensor
 * (onnx) models, and the candidate must differ from the live one. Whether the input widths agree is known
 * only once the files are read: a mismatch refuses the start or the reload (IG_ERR_MODEL_SHAPE).
 */
function candidateProblem(candidate: unknown, live: unknown, context: RolloutContext): string | null {
  if (typeof candidate !== 'string' || candidate.length === 0) return 'must be a model name (string)';
  if (!context.modelNames.has(candidate)) {
    const known = [...context.modelNames];
    return `names no model in models (${known.length === 0 ? 'none defined' : `defined: ${known.join(', ')}`})`;
  }
  if (candidate === live) return 'must name another model than the pipeline model';
  const runtime = context.modelRuntimes?.get(candidate);
  if (runtime !== undefined && runtime !== 'onnx') {
    return `must be a tensor (onnx) model: ${candidate} is ${String(runtime)}`;
  }
  const liveRuntime = typeof live === 'string' ? context.modelRuntimes?.get(live) : undefined;
  if (liveRuntime !== undefined && liveRuntime !== 'onnx') {
    return `needs a tensor (onnx) pipeline model: ${String(live)} is ${String(liveRuntime)}`;
  }
  return null;
}

/** `shadow: <model name>`; null when absent. */
export function parseShadow(
  entry: Record<string, unknown>,
  path: string,
  context: RolloutContext,
  problems: ConfigProblems,
): string | null {
  const raw = entry.shadow;
  if (raw === undefined || raw === null) return null;
  const problem = candidateProblem(raw, entry.model, context);
  if (problem !== null) {
    problems.add(childPath(path, 'shadow'), problem);
    return null;
  }
  return raw as string;
}

/** `canary: { model, share, key, ... }`; null when absent. */
export function parseCanary(
  entry: Record<string, unknown>,
  path: string,
  context: RolloutContext,
  problems: ConfigProblems,
): CanaryConfig | null {
  const raw = entry.canary;
  if (raw === undefined || raw === null) return null;
  const at = childPath(path, 'canary');
  const canary = readMapping(raw, at, CANARY_KEYS, problems);
  if (canary === null) return null;
  const before = problems.count;
  const modelProblem =
    canary.model === undefined ? 'is required' : candidateProblem(canary.model, entry.model, context);
  if (modelProblem !== null) problems.add(childPath(at, 'model'), modelProblem);
  if (typeof entry.shadow === 'string' && entry.shadow === canary.model) {
    problems.add(childPath(at, 'model'), 'must differ from shadow: a model is either shadow or canary');
  }
  if (canary.share === undefined) problems.add(childPath(at, 'share'), 'is required (a number in (0, 1])');
  else if (typeof canary.share !== 'number' || !(canary.share > 0 && canary.share <= 1)) {
    problems.add(childPath(at, 'share'), 'must be a number greater than 0 and at most 1');
  }
  const key = parseKey(canary.key, childPath(at, 'key'), entry.subscribe, problems);
  const numbers = {} as Record<keyof typeof CANARY_LIMITS, number>;
  for (const name of Object.keys(CANARY_LIMITS) as (keyof typeof CANARY_LIMITS)[]) {
    const limit = CANARY_LIMITS[name];
    const given = canary[name] ?? limit.default ?? entry.budgetMs;
    const problem =
      name === 'maxFallbackRate'
        ? numberProblem(given, limit.min, limit.max)
        : integerProblem(given, limit.min, limit.max);
    if (problem !== null) problems.add(childPath(at, name), problem);
    else numbers[name] = given as number;
  }
  if (problems.count !== before || key === null) return null;
  return {
    model: canary.model as string,
    share: canary.share as number,
    key,
    maxFallbackRate: numbers.maxFallbackRate,
    maxP99Ms: numbers.maxP99Ms,
    minEvents: numbers.minEvents,
    windowSec: numbers.windowSec,
  };
}

function parseKey(
  raw: unknown,
  path: string,
  subscribe: unknown,
  problems: ConfigProblems,
): CanaryKey | null {
  if (raw === undefined || raw === null) {
    problems.add(path, 'is required ({ topicLevel: N } or { field: path })');
    return null;
  }
  const key = readMapping(raw, path, ['topicLevel', 'field'], problems);
  if (key === null) return null;
  const hasLevel = key.topicLevel !== undefined;
  const hasField = key.field !== undefined;
  if (hasLevel === hasField) {
    problems.add(
      path,
      'must hold exactly one of topicLevel (0-based topic level) and field (event field path)',
    );
    return null;
  }
  if (hasField) {
    if (typeof key.field !== 'string' || !FIELD_PATH.test(key.field)) {
      problems.add(childPath(path, 'field'), 'must be a dotted field path (e.g. terminalId or meta.device)');
      return null;
    }
    return { kind: 'field', path: key.field };
  }
  // A topic has as many levels as its filter, or any number from the `#` on.
  const filter =
    typeof subscribe === 'string' && validateSubscriptionFilter(subscribe) === null
      ? stripSharePrefix(subscribe)
      : '#';
  const levels = filter.endsWith('#') ? MAX_TOPIC_LEVELS : filter.split('/').length;
  const problem = integerProblem(key.topicLevel, 0, levels - 1);
  if (problem !== null) {
    problems.add(childPath(path, 'topicLevel'), `${problem} (a level of the subscription's topics)`);
    return null;
  }
  return { kind: 'topicLevel', level: key.topicLevel as number };
}
