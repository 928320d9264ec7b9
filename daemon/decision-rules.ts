/**
 * Turns a pipeline's decision rules into a function from one row of model outputs to a decision. Shapes and
 * labels are checked once against the loaded model, so a mismatch stops the gateway at start instead of
 * mis-deciding every event.
 */
import type { DecisionRules } from './config.js';
import { ConfigError, ErrorCodes, ModelError } from './errors.js';

/** What the rules decide from one row of model outputs: the label published, and the score(s) behind it. */
export interface RulesDecision {
  decision: string;
  /** Threshold: the score; argmax: the top probability. Rounded to 6 decimals. */
  score: number;
  /** Argmax only: label → probability, rounded to 6 decimals, in output order. */
  scores: Record<string, number> | null;
}

export interface CompiledDecisionRules {
  readonly kind: DecisionRules['kind'];
  /** Argmax only: one label per output, in output order. */
  readonly labels: readonly string[] | null;
  /**
   * Decides from `outputs[offset] … outputs[offset + outputWidth - 1]`. Throws ModelError IG_ERR_MODEL_RUN
   * when an output the rule reads is not a finite number (or, for argmax, not a probability).
   */
  decide(outputs: Float32Array, offset: number): RulesDecision;
}

/**
 * Scores are compared after rounding to 6 decimals, the precision they are published with, so the published
 * score always agrees with the decision, and a float32 output of 0.7 (0.699999988…) reaches a band at 0.7.
 */
function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function compileDecisionRules(
  rules: DecisionRules,
  outputWidth: number,
  modelLabels: string[] | null,
): CompiledDecisionRules {
  if (!Number.isSafeInteger(outputWidth) || outputWidth < 1) {
    throw shapeError(`the model has ${outputWidth} outputs per row; a decision needs at least one`);
  }
  return rules.kind === 'threshold'
    ? compileThreshold(rules, outputWidth)
    : compileArgmax(rules, outputWidth, modelLabels);
}

function compileThreshold(
  rules: Extract<DecisionRules, { kind: 'threshold' }>,
  outputWidth: number,
): CompiledDecisionRules {
  const { output, otherwise } = rules;
  if (!Number.isSafeInteger(output) || output < 0 || output >= outputWidth) {
    throw shapeError(
      `decide.threshold.output is ${output}, but the model has ${outputWidth} output${outputWidth === 1 ? '' : 's'} ` +
        `per row (valid: 0 to ${outputWidth - 1})`,
    );
  }
  rules.bands.forEach((band, i) => {
    if (!Number.isFinite(band.min)) {
      throw new ConfigError([
        { path: `decide.threshold.bands[${i}].min`, message: 'must be a finite number' },
      ]);
    }
  });
  // Highest band first, so "the first band reached" means "the highest band reached" whatever the order
  // in the config; a stable sort keeps the config's order among equal minimums.
  const bands = [...rules.bands].sort((a, b) => b.min - a.min);
  const mins = Float64Array.from(bands, (band) => band.min);
  const decisions = bands.map((band) => band.decision);

  return {
    kind: 'threshold',
    labels: null,
    decide(outputs: Float32Array, offset: number): RulesDecision {
      const raw = outputs[offset + output];
      if (!Number.isFinite(raw)) {
        throw new ModelError(ErrorCodes.MODEL_RUN, `model output ${output} is not a finite number`);
      }
      const score = round6(raw);
      for (let i = 0; i < mins.length; i++) {
        if (score >= mins[i]) return { decision: decisions[i], score, scores: null };
      }
      return { decision: otherwise, score, scores: null };
    },
  };
}

function compileArgmax(
  rules: Extract<DecisionRules, { kind: 'argmax' }>,
  outputWidth: number,
  modelLabels: string[] | null,
): CompiledDecisionRules {
  const labels = rules.labels ?? modelLabels;
  const from = rules.labels !== null ? 'decide.argmax.labels' : 'the model card';
  if (labels === null) {
    throw shapeError('decide.argmax.labels is not set and the model card has no labels');
  }
  if (labels.length !== outputWidth) {
    throw shapeError(
      `${from} lists ${labels.length} label${labels.length === 1 ? '' : 's'}, ` +
        `but the model has ${outputWidth} output${outputWidth === 1 ? '' : 's'} per row`,
    );
  }
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw shapeError(`${from} lists the label ${JSON.stringify(label)} twice`);
    // The label becomes a key of the published `scores` object.
    if (label === '__proto__') throw shapeError(`${from} uses __proto__ as a label`);
    seen.add(label);
  }
  for (const label of Object.keys(rules.decisions)) {
    if (!seen.has(label)) {
      throw shapeError(`decide.argmax.decisions names ${JSON.stringify(label)}, which is not a model label`);
    }
  }
  // Own properties only: a label such as `constructor` must not decide as Object.prototype.constructor.
  const decisionFor = labels.map((label) =>
    Object.hasOwn(rules.decisions, label) ? rules.decisions[label] : label,
  );
  const frozenLabels = Object.freeze([...labels]);
  const { minConfidence, lowConfidence } = rules;
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    throw new ConfigError([{ path: 'decide.argmax.minConfidence', message: 'must be between 0 and 1' }]);
  }

  return {
    kind: 'argmax',
    labels: frozenLabels,
    decide(outputs: Float32Array, offset: number): RulesDecision {
      const scores: Record<string, number> = {};
      let top = 0;
      let topValue = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < outputWidth; i++) {
        const p = outputs[offset + i];
        // Also catches a model that emits logits where the rules expect probabilities.
        if (!(p >= 0 && p <= 1)) {
          throw new ModelError(
            ErrorCodes.MODEL_RUN,
            `model output ${i} (${frozenLabels[i]}) is not a probability between 0 and 1`,
          );
        }
        if (p > topValue) {
          topValue = p;
          top = i;
        }
        scores[frozenLabels[i]] = round6(p);
      }
      const score = round6(topValue);
      const decision = score < minConfidence ? lowConfidence : decisionFor[top];
      return { decision, score, scores };
    },
  };
}

function shapeError(message: string): ModelError {
  return new ModelError(ErrorCodes.MODEL_SHAPE, message);
}
