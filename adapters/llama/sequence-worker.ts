/**
 * One context sequence and what it does per event: a classifier (label distribution in one forward pass) or
 * a generator (JSON answer, one-hot over the labels, with its reason). The runner hands workers out one per
 * run; each keeps its own KV cache, the system prefix included.
 */
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import type { PromptConfig } from '../../daemon/config.js';
import { reasonMaxChars } from '../../config/prompt-config.js';
import { answerGrammar } from './answer-grammar.js';
import { createLlamaClassifier, type LlamaClassifier } from './classifier.js';
import { LlamaGenerator } from './generator.js';
import type { LlamaPromptLayout } from './prompt-layout.js';

export interface WorkerAnswer {
  /** One value per label, in label order. */
  probabilities: Float32Array;
  /** `generate`: the model's reason. */
  explanation: string | null;
  /** Token counts for the run's log line: `newTokens`, `reusedTokens`, and for `generate` the answer's. */
  details: { newTokens: number; reusedTokens: number } & Record<string, number>;
}

type Mode =
  { kind: 'classify'; classifier: LlamaClassifier } | { kind: 'generate'; generator: LlamaGenerator };

export class LlamaSequenceWorker {
  constructor(
    readonly sequence: LlamaContextSequence,
    private readonly labels: readonly string[],
    private readonly mode: Mode,
  ) {}

  async answer(tokens: readonly Token[], signal: AbortSignal): Promise<WorkerAnswer> {
    if (this.mode.kind === 'classify') {
      const result = await this.mode.classifier.classify(tokens, signal);
      return {
        probabilities: result.probabilities,
        explanation: null,
        details: { newTokens: result.evaluatedTokens, reusedTokens: result.reusedTokens },
      };
    }
    const result = await this.mode.generator.generate(tokens, signal);
    const probabilities = new Float32Array(this.labels.length);
    probabilities[this.labels.indexOf(result.decision)] = 1;
    return {
      probabilities,
      explanation: result.reason,
      details: {
        newTokens: result.evaluatedTokens,
        reusedTokens: result.reusedTokens,
        thoughtTokens: result.thoughtTokens,
        answerTokens: result.answerTokens,
      },
    };
  }
}

/** One worker per sequence of `context`; `generate` workers share one compiled answer grammar. */
export async function createSequenceWorkers(options: {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  layout: LlamaPromptLayout;
  prompt: PromptConfig;
  /** `classify`: each label's first token (labelFirstTokens). */
  labelTokens: readonly Token[];
  reusePrefix: boolean;
}): Promise<LlamaSequenceWorker[]> {
  const { llama, model, context, layout, prompt, labelTokens, reusePrefix } = options;
  const reasonChars = reasonMaxChars(prompt);
  const grammar =
    prompt.mode === 'generate'
      ? await llama.createGrammar({ grammar: answerGrammar(prompt.labels, reasonChars) })
      : null;
  return Array.from({ length: context.totalSequences }, () => {
    const sequence = context.getSequence();
    const mode: Mode =
      grammar === null
        ? {
            kind: 'classify',
            classifier: createLlamaClassifier({ model, sequence, layout, labelTokens, reusePrefix }),
          }
        : {
            kind: 'generate',
            generator: new LlamaGenerator(model, sequence, layout, grammar, {
              labels: prompt.labels,
              reasonMaxChars: reasonChars,
              maxAnswerTokens: prompt.maxAnswerTokens,
              thoughtTokens: layout.thought === null ? 0 : prompt.thoughtTokens,
              reusePrefix,
            }),
          };
    return new LlamaSequenceWorker(sequence, prompt.labels, mode);
  });
}
