import type { PromptConfig } from '../daemon/config.js';
import { ConfigProblems, childPath, indexPath, readMapping } from './config-problems.js';
import { decisionProblem } from './decision-rules.js';
import { fieldPathProblem } from './input-mapping.js';
import { integerProblem, oneOfProblem } from './value-checks.js';

export const PROMPT_MODES = ['classify', 'generate'] as const;
export const MAX_SYSTEM_CHARS = 32768;
export const MAX_TEMPLATE_CHARS = 8192;
export const MAX_PROMPT_LABELS = 64;

/** Bounds and defaults of the numeric prompt keys (tokens). */
export const PROMPT_LIMITS = {
  maxPromptTokens: { min: 1, max: 8192, default: 96 },
  maxAnswerTokens: { min: 16, max: 4096, default: 64 },
  thoughtTokens: { min: 0, max: 8192, default: 0 },
} as const;

/**
 * Bytes of the `generate` answer outside the label and the reason: `{"decision": "`, `", "reason": "`, `"}`.
 * Every token is at least one byte, so bytes bound tokens.
 */
export const ANSWER_LAYOUT_BYTES = 30;
/** Longest reason the grammar allows, characters (printable ASCII, one byte each). */
export const MAX_REASON_CHARS = 1024;
const MIN_REASON_CHARS = 8;

/** The template placeholder syntax of daemon/prompt-template.ts. */
const PLACEHOLDER = /\{([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)\}/g;
// Newlines and tabs belong in prompts; other control characters only ever arrive by accident or abuse.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Longest reason a `generate` answer can carry within `maxAnswerTokens`. */
export function reasonMaxChars(prompt: Pick<PromptConfig, 'labels' | 'maxAnswerTokens'>): number {
  const label = Math.max(
    ...prompt.labels.map((text) => Buffer.byteLength(JSON.stringify(text).slice(1, -1), 'utf8')),
  );
  return Math.min(MAX_REASON_CHARS, prompt.maxAnswerTokens - ANSWER_LAYOUT_BYTES - label);
}

/**
 * Parses `prompt: {mode?, system, template, labels, maxPromptTokens?, maxAnswerTokens?, thoughtTokens?}` of a
 * pipeline on an LLM (`runtime: llama`) model.
 */
export function parsePromptConfig(raw: unknown, path: string, problems: ConfigProblems): PromptConfig | null {
  const entry = readMapping(
    raw,
    path,
    ['mode', 'system', 'template', 'labels', 'maxPromptTokens', 'maxAnswerTokens', 'thoughtTokens'],
    problems,
  );
  if (entry === null) return null;
  const before = problems.count;
  const at = (key: string): string => childPath(path, key);

  const mode = entry.mode ?? 'classify';
  const modeProblem = oneOfProblem(mode, PROMPT_MODES);
  if (modeProblem !== null) problems.add(at('mode'), modeProblem);

  const system = promptText(entry.system, at('system'), MAX_SYSTEM_CHARS, problems);
  const template = promptText(entry.template, at('template'), MAX_TEMPLATE_CHARS, problems);
  if (template !== null) {
    const fields = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
    if (fields.length === 0) {
      problems.add(
        at('template'),
        'must use at least one {field} placeholder: the event must reach the model',
      );
    }
    for (const field of fields) {
      const problem = fieldPathProblem(field);
      if (problem !== null) problems.add(at('template'), `placeholder {${field}}: ${problem}`);
    }
  }

  const labels = parseLabels(entry.labels, at('labels'), problems);

  const numbers = {} as Record<keyof typeof PROMPT_LIMITS, number>;
  for (const key of Object.keys(PROMPT_LIMITS) as (keyof typeof PROMPT_LIMITS)[]) {
    const limit = PROMPT_LIMITS[key];
    const given = entry[key] ?? limit.default;
    const problem = integerProblem(given, limit.min, limit.max);
    if (problem !== null) problems.add(at(key), problem);
    else numbers[key] = given as number;
  }
  if (mode === 'classify' && numbers.thoughtTokens !== undefined && numbers.thoughtTokens > 0) {
    problems.add(at('thoughtTokens'), 'applies to mode generate only: classify never lets the model think');
  }
  if (mode === 'generate' && labels !== null && numbers.maxAnswerTokens !== undefined) {
    const reason = reasonMaxChars({ labels, maxAnswerTokens: numbers.maxAnswerTokens });
    if (reason < MIN_REASON_CHARS) {
      problems.add(
        at('maxAnswerTokens'),
        `must leave room for a reason: the answer layout takes ${ANSWER_LAYOUT_BYTES} tokens plus the longest ` +
          `label, so at least ${numbers.maxAnswerTokens - reason + MIN_REASON_CHARS}`,
      );
    }
  }

  if (problems.count !== before) return null;
  return {
    mode: mode as PromptConfig['mode'],
    system: system!,
    template: template!,
    labels: labels!,
    maxPromptTokens: numbers.maxPromptTokens,
    maxAnswerTokens: numbers.maxAnswerTokens,
    thoughtTokens: numbers.thoughtTokens,
  };
}

function promptText(raw: unknown, path: string, maxLength: number, problems: ConfigProblems): string | null {
  if (raw === undefined || raw === null) problems.add(path, 'is required');
  else if (typeof raw !== 'string') problems.add(path, 'must be a string');
  else if (raw.trim().length === 0) problems.add(path, 'must not be empty');
  else if (raw.length > maxLength) problems.add(path, `must be at most ${maxLength} characters`);
  else if (CONTROL_CHARACTER.test(raw))
    problems.add(path, 'must not contain control characters (newlines and tabs are fine)');
  else return raw;
  return null;
}

function parseLabels(raw: unknown, path: string, problems: ConfigProblems): string[] | null {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > MAX_PROMPT_LABELS) {
    problems.add(path, `must be a list of 2 to ${MAX_PROMPT_LABELS} labels`);
    return null;
  }
  const before = problems.count;
  const seen = new Set<string>();
  raw.forEach((label: unknown, index) => {
    const problem = decisionProblem(label);
    if (problem !== null) problems.add(indexPath(path, index), problem);
    else if (label === '__proto__') problems.add(indexPath(path, index), 'must not be __proto__');
    else if (seen.has(label as string))
      problems.add(indexPath(path, index), `duplicates '${label as string}'`);
    else seen.add(label as string);
  });
  return problems.count === before ? [...seen] : null;
}
