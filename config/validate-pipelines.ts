import type {
  DecisionRules,
  ImageConfig,
  InputMapping,
  PipelineConfig,
  PromptConfig,
} from '../daemon/config.js';
import { ConfigProblems, childPath, indexPath, readMapping } from './config-problems.js';
import { decisionProblem, parseDecisionRules } from './decision-rules.js';
import { parseImageConfig } from './image-config.js';
import { parseInputMapping } from './input-mapping.js';
import { parsePromptConfig } from './prompt-config.js';
import { parseCanary, parseShadow } from './rollout-config.js';
import { sparkplugPipelineProblems } from './sparkplug-config.js';
import { MAX_PIPELINE_PAYLOAD_BYTES, parseTensorPayload } from './tensor-payload-config.js';
import { checkTopicsAcrossPipelines } from './pipeline-topic-checks.js';
import { integerProblem, oneOfProblem, patternProblem } from './value-checks.js';
import { validateSubscriptionFilter, validateTopicTemplate, wildcardCount } from '../daemon/topics.js';

export const PIPELINE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const MAX_PIPELINES = 256;
export const MAX_RESPONSE_TOPICS = 64;
export const DECODERS = ['json', 'sparkplug', 'tensor', 'image'] as const;

/** Bounds and defaults of the numeric pipeline keys; `default: null` means required. */
export const PIPELINE_LIMITS = {
  budgetMs: { min: 1, max: 600000, default: null },
  maxQueue: { min: 1, max: 100000, default: 1024 },
  maxEventAgeMs: { min: 1, max: 86400000, default: 60000 },
} as const;

const PIPELINE_KEYS = [
  'name',
  'subscribe',
  'publish',
  'responseTopics',
  'decoder',
  'model',
  'input',
  'prompt',
  'decide',
  'budgetMs',
  'fallback',
  'maxQueue',
  'maxEventAgeMs',
  'timestampField',
  'image',
  'tensor',
  'maxPayloadBytes',
  'shadow',
  'canary',
] as const;

export interface PipelineContext {
  /** Every model name declared, valid or not, so a broken model is not also reported as missing. */
  modelNames: ReadonlySet<string>;
  /** Null when gateway.id is itself invalid. */
  gatewayId: string | null;
  /** The `runtime` each declared model gives, as written: it decides between `input` and `prompt`. */
  modelRuntimes?: ReadonlyMap<string, unknown>;
}

/**
 * Validates the `pipelines` list, each pipeline on its own and then against the others: unique names,
 * no two subscriptions matching the same topic, and no output the gateway would receive again.
 */
export function validatePipelines(
  raw: unknown,
  context: PipelineContext,
  problems: ConfigProblems,
): PipelineConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > MAX_PIPELINES) {
    problems.add('pipelines', `must be a list of at most ${MAX_PIPELINES} pipelines`);
    return [];
  }
  const pipelines: (PipelineConfig | null)[] = raw.map((value: unknown, index) =>
    validatePipeline(value, indexPath('pipelines', index), context, problems),
  );
  checkTopicsAcrossPipelines(raw, context.gatewayId, problems);
  sparkplugPipelineProblems(raw, problems);
  checkOnePipelinePerLlamaModel(raw, context, problems);
  return pipelines.every((p) => p !== null) ? (pipelines as PipelineConfig[]) : [];
}

function validatePipeline(
  raw: unknown,
  path: string,
  context: PipelineContext,
  problems: ConfigProblems,
): PipelineConfig | null {
  const entry = readMapping(raw, path, PIPELINE_KEYS, problems);
  if (entry === null) return null;
  const before = problems.count;
  const at = (key: string): string => childPath(path, key);
  const required = (key: string, check: (value: unknown) => string | null): void => {
    if (entry[key] === undefined || entry[key] === null) problems.add(at(key), 'is required');
    else {
      const problem = check(entry[key]);
      if (problem !== null) problems.add(at(key), problem);
    }
  };

  required('name', (v) => patternProblem(v, PIPELINE_NAME_PATTERN, '[a-z0-9][a-z0-9_-]*', 64));

  required('subscribe', (v) => (typeof v === 'string' ? validateSubscriptionFilter(v) : 'must be a string'));
  const subscribeOk = problems.count === before;
  const subscribe = entry.subscribe as string;

  const captureCount = subscribeOk ? wildcardCount(subscribe) : Number.MAX_SAFE_INTEGER;
  required('publish', (v) =>
    typeof v === 'string' ? validateTopicTemplate(v, captureCount) : 'must be a string',
  );

  const responseTopics = parseResponseTopics(entry.responseTopics, at('responseTopics'), problems);

  const decoder = entry.decoder ?? 'json';
  const decoderProblem = oneOfProblem(decoder, DECODERS);
  if (decoderProblem !== null) problems.add(at('decoder'), decoderProblem);

  required('model', (v) => {
    if (typeof v !== 'string') return 'must be a model name (string)';
    if (context.modelNames.has(v)) return null;
    const known = [...context.modelNames];
    return `names no model in models (${known.length === 0 ? 'none defined' : `defined: ${known.join(', ')}`})`;
  });

  const fallbackBefore = problems.count;
  required('fallback', decisionProblem);
  const fallback = problems.count === fallbackBefore ? (entry.fallback as string) : null;

  const image = parsePipelineImage(entry, decoder, at, problems);
  const { input, prompt } = parseModelInput(entry, path, context, problems, image !== null);

  let decide: DecisionRules | null = null;
  if (entry.decide === undefined || entry.decide === null) {
    if (prompt !== null && fallback !== null) {
      // An LLM pipeline's labels are its decisions unless rules say otherwise.
      decide = { kind: 'argmax', labels: null, decisions: {}, minConfidence: 0, lowConfidence: fallback };
    } else if (entry.prompt === undefined || entry.prompt === null) {
      problems.add(at('decide'), 'is required (threshold: {...} or argmax: {...})');
    }
  } else {
    decide = parseDecisionRules(entry.decide, at('decide'), fallback, problems);
    if (decide !== null && prompt !== null) checkRulesAgainstLabels(decide, prompt, at('decide'), problems);
  }

  const numbers = {} as Record<keyof typeof PIPELINE_LIMITS, number>;
  for (const key of Object.keys(PIPELINE_LIMITS) as (keyof typeof PIPELINE_LIMITS)[]) {
    const limit = PIPELINE_LIMITS[key];
    const given = entry[key] ?? limit.default;
    if (given === null) {
      problems.add(at(key), `is required (an integer between ${limit.min} and ${limit.max})`);
      continue;
    }
    const problem = integerProblem(given, limit.min, limit.max);
    if (problem !== null) problems.add(at(key), problem);
    else numbers[key] = given as number;
  }
  if (
    numbers.budgetMs !== undefined &&
    numbers.maxEventAgeMs !== undefined &&
    numbers.maxEventAgeMs < numbers.budgetMs
  ) {
    problems.add(at('maxEventAgeMs'), `must be at least budgetMs (${numbers.budgetMs})`);
  }

  const timestampField = entry.timestampField ?? null;
  if (
    timestampField !== null &&
    (typeof timestampField !== 'string' || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(timestampField))
  ) {
    problems.add(at('timestampField'), 'must be a dotted field path (e.g. ts or meta.createdAt)');
  }

  const tensor = parseTensorPayload(entry.tensor, decoder, at('tensor'), problems);
  const maxPayloadBytes = entry.maxPayloadBytes ?? null;
  if (maxPayloadBytes !== null) {
    const problem = integerProblem(maxPayloadBytes, 1, MAX_PIPELINE_PAYLOAD_BYTES);
    if (problem !== null) problems.add(at('maxPayloadBytes'), problem);
  }
  const shadow = parseShadow(entry, path, context, problems);
  const canary = parseCanary(entry, path, context, problems);

  if (
    problems.count !== before ||
    (input === null && prompt === null && image === null) ||
    decide === null ||
    responseTopics === null
  ) {
    return null;
  }
  return {
    name: entry.name as string,
    subscribe,
    publish: entry.publish as string,
    responseTopics,
    decoder: decoder as PipelineConfig['decoder'],
    model: entry.model as string,
    input,
    prompt,
    decide,
    budgetMs: numbers.budgetMs,
    fallback: entry.fallback as string,
    maxQueue: numbers.maxQueue,
    maxEventAgeMs: numbers.maxEventAgeMs,
    timestampField: timestampField as string | null,
    image,
    tensor,
    maxPayloadBytes: maxPayloadBytes as number | null,
    shadow,
    canary,
  };
}

/** `image` is required with `decoder: image` and refused with any other decoder. */
function parsePipelineImage(
  entry: Record<string, unknown>,
  decoder: unknown,
  at: (key: string) => string,
  problems: ConfigProblems,
): ImageConfig | null {
  const given = entry.image !== undefined && entry.image !== null;
  if (decoder !== 'image') {
    if (given) problems.add(at('image'), 'is only for decoder: image');
    return null;
  }
  if (!given) {
    problems.add(at('image'), 'is required with decoder: image ({ width, height, ... })');
    return null;
  }
  return parseImageConfig(entry.image, at('image'), problems);
}

/**
 * `input` (tensor models: onnx) or `prompt` (LLMs: llama), whichever the model's runtime takes. When the
 * runtime is unknown (the model is missing or invalid, reported on its own) exactly one must be given.
 */
function parseModelInput(
  entry: Record<string, unknown>,
  path: string,
  context: PipelineContext,
  problems: ConfigProblems,
  isImage = false,
): { input: InputMapping | null; prompt: PromptConfig | null } {
  const at = (key: string): string => childPath(path, key);
  const hasInput = entry.input !== undefined && entry.input !== null;
  const hasPrompt = entry.prompt !== undefined && entry.prompt !== null;
  const runtime = typeof entry.model === 'string' ? context.modelRuntimes?.get(entry.model) : undefined;
  let input: InputMapping | null = null;
  let prompt: PromptConfig | null = null;
  if (runtime === 'llama') {
    if (hasInput) {
      problems.add(
        at('input'),
        `is for tensor (onnx) models; model ${String(entry.model)} is an LLM: use prompt`,
      );
    }
    if (!hasPrompt)
      problems.add(at('prompt'), `is required: model ${String(entry.model)} is an LLM (runtime llama)`);
  } else if (runtime === 'onnx') {
    if (hasPrompt) {
      problems.add(
        at('prompt'),
        `is for LLM (llama) models; model ${String(entry.model)} is onnx: use input`,
      );
    }
    // An image pipeline without `input` feeds the preprocessed image as the model's whole input.
    if (!hasInput && !isImage) problems.add(at('input'), 'is required');
  } else if (!hasInput && !hasPrompt && !isImage) {
    problems.add(at('input'), 'is required (or prompt, for a llama model)');
  } else if (hasInput && hasPrompt) {
    problems.add(path, 'must hold exactly one of input (onnx models) and prompt (llama models)');
  }
  if (hasInput && runtime !== 'llama') input = parseInputMapping(entry.input, at('input'), problems);
  if (hasPrompt && runtime !== 'onnx') prompt = parsePromptConfig(entry.prompt, at('prompt'), problems);
  return { input, prompt };
}

/** Rules on an LLM pipeline read its label distribution: they must name the same labels, in range. */
function checkRulesAgainstLabels(
  rules: DecisionRules,
  prompt: PromptConfig,
  path: string,
  problems: ConfigProblems,
): void {
  if (rules.kind === 'argmax') {
    const labels = rules.labels;
    if (labels !== null && labels.join('\u0000') !== prompt.labels.join('\u0000')) {
      problems.add(
        childPath(childPath(path, 'argmax'), 'labels'),
        'must equal prompt.labels (or be left out: they are taken from there)',
      );
    }
    for (const label of Object.keys(rules.decisions)) {
      if (!prompt.labels.includes(label)) {
        problems.add(
          childPath(childPath(childPath(path, 'argmax'), 'decisions'), label),
          `is not one of prompt.labels (${prompt.labels.join(', ')})`,
        );
      }
    }
  } else if (rules.output >= prompt.labels.length) {
    problems.add(
      childPath(childPath(path, 'threshold'), 'output'),
      `must index one of the ${prompt.labels.length} prompt.labels (0 to ${prompt.labels.length - 1})`,
    );
  }
}

/**
 * A llama model is loaded for one pipeline (its system prompt is cached in the model's context), so two
 * pipelines cannot share one model entry; two entries on the same file share the weights in memory.
 */
function checkOnePipelinePerLlamaModel(
  raw: unknown[],
  context: PipelineContext,
  problems: ConfigProblems,
): void {
  const first = new Map<string, number>();
  raw.forEach((value, index) => {
    const model = (value as Record<string, unknown> | null)?.model;
    if (typeof model !== 'string' || context.modelRuntimes?.get(model) !== 'llama') return;
    const earlier = first.get(model);
    if (earlier === undefined) first.set(model, index);
    else {
      problems.add(
        `pipelines[${index}].model`,
        `llama model ${model} already serves pipelines[${earlier}]: an LLM model serves one pipeline; declare ` +
          'another model entry with the same path (the weights are loaded once)',
      );
    }
  });
}

function parseResponseTopics(raw: unknown, path: string, problems: ConfigProblems): string[] | null {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > MAX_RESPONSE_TOPICS) {
    problems.add(path, `must be a list of at most ${MAX_RESPONSE_TOPICS} topic filters`);
    return null;
  }
  const before = problems.count;
  raw.forEach((filter: unknown, index) => {
    const at = indexPath(path, index);
    if (typeof filter !== 'string') problems.add(at, 'must be a topic filter (string)');
    else {
      const problem = validateSubscriptionFilter(filter);
      if (problem !== null) problems.add(at, problem);
      // These filters allow topics we publish to; `$` topics can never be published to.
      else if (filter.startsWith('$'))
        problems.add(at, `must not start with '$': such topics cannot be published to`);
    }
  });
  return problems.count === before ? [...(raw as string[])] : null;
}
