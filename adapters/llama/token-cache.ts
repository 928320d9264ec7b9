import type { Token } from 'node-llama-cpp';

/**
 * Rendered prompts tokenized at intake (the `maxPromptTokens` check), kept until their run so the prompt is
 * tokenized once. Bounded: the oldest entries go first (a refused or redelivered event never comes to run).
 */
export class PromptTokenCache {
  private readonly entries = new Map<string, Token[]>();

  constructor(private readonly capacity: number) {}

  remember(prompt: string, tokens: Token[]): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(prompt, tokens);
  }

  /** The tokens remembered for `prompt` (then forgotten), or undefined. */
  take(prompt: string): Token[] | undefined {
    const tokens = this.entries.get(prompt);
    this.entries.delete(prompt);
    return tokens;
  }

  clear(): void {
    this.entries.clear();
  }
}
