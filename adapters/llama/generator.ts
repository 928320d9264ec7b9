/**
 * `generate` mode: the model writes a short JSON answer (decision and reason) under a grammar, greedily, for
 * pipelines with budgets long enough to decode a few dozen tokens. R1-style thinking is off by default (an
 * empty thought is prefilled); with `thoughtTokens > 0` the model may think, unconstrained, up to that many
 * tokens before the thought is closed for it and the grammar takes over. The thought is never part of the
 * answer. Generation stops within one token of `signal` (the run's deadline, or the model closing).
 */
import {
  LlamaGrammarEvaluationState,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import { completeAnswer, validateAnswer, type Answer } from './answer-grammar.js';
import { throwIfCancelled } from './cancellation.js';
import { alignSequence } from './prefix-reuse.js';
import type { LlamaPromptLayout } from './prompt-layout.js';

export interface GenerateResult extends Answer {
  evaluatedTokens: number;
  reusedTokens: number;
  thoughtTokens: number;
  answerTokens: number;
}

export interface GeneratorSettings {
  labels: readonly string[];
  reasonMaxChars: number;
  maxAnswerTokens: number;
  thoughtTokens: number;
  reusePrefix: boolean;
}

export class LlamaGenerator {
  constructor(
    private readonly model: LlamaModel,
    private readonly sequence: LlamaContextSequence,
    private readonly layout: LlamaPromptLayout,
    private readonly grammar: LlamaGrammar,
    private readonly settings: GeneratorSettings,
  ) {}

  async generate(userTokens: readonly Token[], signal: AbortSignal): Promise<GenerateResult> {
    throwIfCancelled(signal);
    const tokens = [...this.layout.prefix, ...userTokens, ...this.layout.tail];
    const { evaluate, reused } = await alignSequence(this.sequence, tokens, this.settings.reusePrefix);
    let next = evaluate;
    let thought = 0;
    if (this.layout.thought !== null) {
      const result = await this.think(next, signal);
      thought = result.tokens;
      next = result.next;
    }
    throwIfCancelled(signal);
    const state = new LlamaGrammarEvaluationState({ model: this.model, grammar: this.grammar });
    const answer: Token[] = [];
    let parsed: unknown = null;
    for await (const token of this.sequence.evaluate(next, {
      temperature: 0,
      grammarEvaluationState: state,
    })) {
      answer.push(token);
      if (signal.aborted) break;
      // The object can only be complete on a token that closes it: the full text is decoded only then.
      if (this.model.detokenize([token]).includes('}'))
        parsed = completeAnswer(this.model.detokenize(answer));
      if (parsed !== null || answer.length >= this.settings.maxAnswerTokens) break;
    }
    throwIfCancelled(signal);
    if (parsed === null) {
      throw new ModelError(
        ErrorCodes.MODEL_RUN,
        `the answer did not close within ${this.settings.maxAnswerTokens} tokens (prompt.maxAnswerTokens)`,
      );
    }
    return {
      ...validateAnswer(parsed, this.settings.labels, this.settings.reasonMaxChars),
      evaluatedTokens: evaluate.length,
      reusedTokens: reused,
      thoughtTokens: thought,
      answerTokens: answer.length,
    };
  }

  /**
   * Lets the model think until it ends the thought or the budget is spent; returns the tokens that continue
   * into the answer. The sampled token that overran the budget is dropped, never evaluated.
   */
  private async think(prompt: Token[], signal: AbortSignal): Promise<{ tokens: number; next: Token[] }> {
    const thought = this.layout.thought!;
    let count = 0;
    for await (const token of this.sequence.evaluate(prompt, { temperature: 0 })) {
      if (signal.aborted) break;
      if (token === thought.end) return { tokens: count, next: [thought.end, ...thought.afterEnd] };
      count += 1;
      if (count >= this.settings.thoughtTokens) break;
    }
    return { tokens: count, next: [...thought.close] };
  }
}
