import type { PromptConfig } from '../../daemon/config.js';

/** The pipeline a llama model serves: its prompt shapes the model's prefix, labels and mode. */
export interface LlamaPipeline {
  name: string;
  prompt: PromptConfig;
  budgetMs: number;
}
