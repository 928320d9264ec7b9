import type { DecisionRules } from '../daemon/config.js';
import { ConfigProblems, childPath, indexPath, isPlainObject, readMapping } from './config-problems.js';
import { integerProblem, numberProblem, textProblem } from './value-checks.js';

export const MAX_DECISION_LENGTH = 64;
export const MAX_BANDS = 256;
export const MAX_LABELS = 4096;
/** Model outputs are addressed by index; no shipped or plausible classifier has more. */
export const MAX_OUTPUT_INDEX = 65535;

export function decisionProblem(value: unknown): string | null {
  return textProblem(value, MAX_DECISION_LENGTH);
}

/**
 * Parses `decide:`, which holds exactly one of `threshold: {output?, bands, otherwise}` or
 * `argmax: {labels?, decisions?, minConfidence?, lowConfidence?}`. `fallback` is the pipeline's fallback
 * decision, the default for `lowConfidence`; null when it is itself invalid (and reported).
 */
export function parseDecisionRules(
  raw: unknown,
  path: string,
  fallback: string | null,
  problems: ConfigProblems,
): DecisionRules | null {
  const entry = readMapping(raw, path, ['threshold', 'argmax'], problems);
  if (entry === null) return null;
  const hasThreshold = entry.threshold !== undefined;
  const hasArgmax = entry.argmax !== undefined;
  if (hasThreshold === hasArgmax) {
    problems.add(path, 'must hold exactly one of threshold or argmax');
    return null;
  }
  return hasThreshold
    ? parseThreshold(entry.threshold, childPath(path, 'threshold'), problems)
    : parseArgmax(entry.argmax, childPath(path, 'argmax'), fallback, problems);
}

function parseThreshold(raw: unknown, path: string, problems: ConfigProblems): DecisionRules | null {
  const entry = readMapping(raw, path, ['output', 'bands', 'otherwise'], problems);
  if (entry === null) return null;
  const before = problems.count;

  const output = entry.output ?? 0;
  const outputProblem = integerProblem(output, 0, MAX_OUTPUT_INDEX);
  if (outputProblem !== null) problems.add(childPath(path, 'output'), outputProblem);

  const bandsPath = childPath(path, 'bands');
  const bands: { min: number; decision: string }[] = [];
  if (!Array.isArray(entry.bands) || entry.bands.length === 0 || entry.bands.length > MAX_BANDS) {
    problems.add(bandsPath, `must be a list of 1 to ${MAX_BANDS} bands {min, decision}`);
  } else {
    entry.bands.forEach((value: unknown, index) => {
      const bandPath = indexPath(bandsPath, index);
      const band = readMapping(value, bandPath, ['min', 'decision'], problems);
      if (band === null) return;
      const minProblem = numberProblem(band.min, -Number.MAX_VALUE, Number.MAX_VALUE);
      const decision = decisionProblem(band.decision);
      if (minProblem !== null) problems.add(childPath(bandPath, 'min'), 'must be a finite number');
      if (decision !== null) problems.add(childPath(bandPath, 'decision'), decision);
      if (minProblem !== null || decision !== null) return;
      const previous = bands.at(-1);
      // Bands are tried in order and the first reached wins, so a band below a lower one is unreachable.
      if (previous !== undefined && !((band.min as number) < previous.min)) {
        problems.add(
          childPath(bandPath, 'min'),
          `bands must be sorted by min, highest first (${band.min as number} follows ${previous.min})`,
        );
      }
      bands.push({ min: band.min as number, decision: band.decision as string });
    });
  }

  if (entry.otherwise === undefined) problems.add(childPath(path, 'otherwise'), 'is required');
  else {
    const problem = decisionProblem(entry.otherwise);
    if (problem !== null) problems.add(childPath(path, 'otherwise'), problem);
  }

  if (problems.count !== before) return null;
  return { kind: 'threshold', output: output as number, bands, otherwise: entry.otherwise as string };
}

function parseArgmax(
  raw: unknown,
  path: string,
  fallback: string | null,
  problems: ConfigProblems,
): DecisionRules | null {
  const entry = readMapping(raw, path, ['labels', 'decisions', 'minConfidence', 'lowConfidence'], problems);
  if (entry === null) return null;
  const before = problems.count;

  const labels =
    entry.labels === undefined || entry.labels === null ? null : parseLabels(entry.labels, path, problems);

  const decisions: Record<string, string> = {};
  const decisionsPath = childPath(path, 'decisions');
  if (entry.decisions !== undefined && entry.decisions !== null) {
    if (!isPlainObject(entry.decisions)) {
      problems.add(decisionsPath, 'must be a mapping of label to decision');
    } else {
      for (const [label, decision] of Object.entries(entry.decisions)) {
        const labelPath = childPath(decisionsPath, label);
        if (labels !== null && !labels.includes(label)) {
          problems.add(labelPath, `is not one of the labels (${labels.join(', ')})`);
          continue;
        }
        const problem = decisionProblem(decision);
        if (problem !== null) problems.add(labelPath, problem);
        // defineProperty: a label named like an Object.prototype member must stay plain data.
        else Object.defineProperty(decisions, label, { value: decision, enumerable: true, writable: true });
      }
    }
  }

  const minConfidence = entry.minConfidence ?? 0;
  const confidenceProblem = numberProblem(minConfidence, 0, 1);
  if (confidenceProblem !== null) problems.add(childPath(path, 'minConfidence'), confidenceProblem);

  const lowConfidence = entry.lowConfidence ?? fallback;
  // An invalid fallback is reported once, at the pipeline's `fallback`, not again here.
  if (lowConfidence !== null) {
    const lowProblem = decisionProblem(lowConfidence);
    if (lowProblem !== null) problems.add(childPath(path, 'lowConfidence'), lowProblem);
  }

  if (problems.count !== before) return null;
  return {
    kind: 'argmax',
    labels,
    decisions,
    minConfidence: minConfidence as number,
    lowConfidence: lowConfidence as string,
  };
}

function parseLabels(raw: unknown, path: string, problems: ConfigProblems): string[] | null {
  const labelsPath = childPath(path, 'labels');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_LABELS) {
    problems.add(
      labelsPath,
      `must be a list of 1 to ${MAX_LABELS} labels, or absent to use the model card's`,
    );
    return null;
  }
  const seen = new Set<string>();
  let ok = true;
  raw.forEach((label: unknown, index) => {
    const problem = textProblem(label, MAX_DECISION_LENGTH);
    if (problem !== null || seen.has(label as string)) {
      problems.add(indexPath(labelsPath, index), problem ?? `duplicates '${label as string}'`);
      ok = false;
    } else {
      seen.add(label as string);
    }
  });
  return ok ? [...seen] : null;
}
