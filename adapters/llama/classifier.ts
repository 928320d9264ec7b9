/**
 * `classify` mode: one forward pass per event, no generation. The prompt ends where the model's answer would
 * start; at that position every label's first token gets the same +100 logit bias and sampling keeps the top
 * `labels` tokens (temperature 1, no top-p/min-p), so the returned probabilities are exactly the model's
 * distribution restricted to the labels and renormalised. Asking for the full softmax instead (every entry of
 * the vocabulary) costs far more per call than the budget allows. A plain-number bias must not be used here: node-llama-cpp
 * reads it as a probability multiplier, and a large one turns into +Infinity and NaN probabilities.
 */
import {
  TokenBias,
  type ControlledEvaluateInputItem,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import { throwIfCancelled } from './cancellation.js';
import { alignSequence } from './prefix-reuse.js';
import type { LlamaPromptLayout } from './prompt-layout.js';

const LABEL_LOGIT_BIAS = 100;

export interface ClassifyResult {
  /** One probability per label, in label order, summing to 1. */
  probabilities: Float32Array;
  evaluatedTokens: number;
  reusedTokens: number;
}

type Sampling = NonNullable<
  Extract<ControlledEvaluateInputItem, readonly unknown[]>[1]['generateNext']
>['options'];

export class LlamaClassifier {
  constructor(
    private readonly sequence: LlamaContextSequence,
    private readonly layout: LlamaPromptLayout,
    private readonly labelIndex: ReadonlyMap<Token, number>,
    private readonly sampling: Sampling,
    private readonly reusePrefix: boolean,
  ) {}

  /** `signal` is checked before evaluation starts: the forward pass itself cannot be interrupted. */
  async classify(userTokens: readonly Token[], signal: AbortSignal): Promise<ClassifyResult> {
    throwIfCancelled(signal);
    const tokens = [...this.layout.prefix, ...userTokens, ...this.layout.tail];
    const { evaluate, reused } = await alignSequence(this.sequence, tokens, this.reusePrefix);
    throwIfCancelled(signal);
    const last = evaluate.length - 1;
    const input: ControlledEvaluateInputItem[] = evaluate.slice(0, last);
    input.push([evaluate[last]!, { generateNext: { probabilities: true, options: this.sampling } }]);
    const output = await this.sequence.controlledEvaluate(input);
    const probabilities = output[last]?.next.probabilities;
    if (probabilities === undefined) {
      throw new ModelError(ErrorCodes.MODEL_RUN, 'the model returned no next-token probabilities');
    }
    return {
      probabilities: this.labelDistribution(probabilities),
      evaluatedTokens: evaluate.length,
      reusedTokens: reused,
    };
  }

  private labelDistribution(next: ReadonlyMap<Token, number>): Float32Array {
    const out = new Float64Array(this.labelIndex.size);
    for (const [token, index] of this.labelIndex) out[index] = next.get(token) ?? 0;
    const sum = out.reduce((a, b) => a + b, 0);
    if (!(sum > 0) || !Number.isFinite(sum)) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `label probabilities do not form a distribution (sum ${sum})`,
      );
    }
    return Float32Array.from(out, (p) => p / sum);
  }
}

export function createLlamaClassifier(options: {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  layout: LlamaPromptLayout;
  labelTokens: readonly Token[];
  reusePrefix: boolean;
}): LlamaClassifier {
  const bias = new TokenBias(options.model.tokenizer);
  for (const token of options.labelTokens) bias.set(token, { logit: LABEL_LOGIT_BIAS });
  const sampling: Sampling = {
    temperature: 1,
    topK: options.labelTokens.length,
    topP: 1,
    minP: 0,
    tokenBias: bias,
  };
  return new LlamaClassifier(
    options.sequence,
    options.layout,
    new Map(options.labelTokens.map((token, index) => [token, index])),
    sampling,
    options.reusePrefix,
  );
}
