/**
 * KV-cache reuse for one context sequence: keep the longest common prefix of what the sequence already holds
 * and the next prompt, erase the rest, and return only the tokens still to evaluate. Every prompt starts with
 * the pipeline's fixed prefix (system prompt and chat template), so after the first event only the event's
 * own tokens are evaluated, plus any leading template text it shares with the previous event.
 */
import type { LlamaContextSequence, Token } from 'node-llama-cpp';

export interface PromptAlignment {
  /** Tokens to evaluate (at least one: the last position's logits are what the caller reads). */
  evaluate: Token[];
  /** Tokens whose KV cache was kept. */
  reused: number;
}

/** With `reuse` false the sequence is cleared first: every token is evaluated (the cache-off baseline). */
export async function alignSequence(
  sequence: LlamaContextSequence,
  tokens: readonly Token[],
  reuse: boolean,
): Promise<PromptAlignment> {
  if (tokens.length === 0) throw new RangeError('a prompt has at least one token');
  if (!reuse) {
    if (sequence.nextTokenIndex > 0) await sequence.clearHistory();
    return { evaluate: [...tokens], reused: 0 };
  }
  // No shifting: shifting re-evaluates tokens, which costs more than the event it would save.
  await sequence.adaptStateToTokens([...tokens], false);
  let reused = sequence.nextTokenIndex;
  if (reused >= tokens.length) {
    // The same prompt again: re-evaluate its last token, whose logits are the answer.
    await sequence.eraseContextTokenRanges([{ start: tokens.length - 1, end: sequence.nextTokenIndex }]);
    reused = tokens.length - 1;
  }
  return { evaluate: tokens.slice(reused), reused };
}

/** Evaluates `prefix` into an empty or diverged sequence, so the first event finds it cached. */
export async function primeSequence(
  sequence: LlamaContextSequence,
  prefix: readonly Token[],
): Promise<number> {
  await sequence.adaptStateToTokens([...prefix], false);
  const missing = prefix.slice(sequence.nextTokenIndex);
  if (missing.length > 0) await sequence.evaluateWithoutGeneratingNewTokens(missing);
  return missing.length;
}
