/**
 * llama adapter: a ModelRunner for one prompt pipeline on a GGUF model (node-llama-cpp). Importing it loads
 * the LLM runtime's bindings, so the wiring imports it only when a `llama` model is configured.
 */
export { createLlamaModel, type LlamaModelDeps, type LlamaModelStats } from './model.js';
export type { LlamaPipeline } from './pipeline.js';
