/**
 * Random-weight `qwen2` GGUF models (Q4_0) with the R1 tokenizer and chat template, for tests and latency
 * measurement. `tiny` is ~70 KB and answers in about a millisecond; `r1-1.5b` has the exact dimensions of
 * DeepSeek-R1-Distill-Qwen-1.5B (~1 GB), so it costs what the real model costs per token, though what it
 * says is noise. Output is a pure function of the shape and the seed.
 */
import { gguf, writeGguf, type GgufTensor, type GgufValue, type WrittenGguf } from './gguf-writer.js';
import { constantF32, randomQ4_0, uniformF32 } from './gguf-tensor-data.js';
import { mulberry32 } from '../train/mulberry32.js';
import { MIN_VOCABULARY, r1TokenizerMetadata } from './r1-tokenizer.js';

export interface Qwen2Shape {
  description: string;
  vocabulary: number;
  embedding: number;
  feedForward: number;
  layers: number;
  heads: number;
  kvHeads: number;
  contextLength: number;
  ropeTheta: number;
  rmsEpsilon: number;
}

export const GGUF_SHAPES = {
  tiny: {
    description: 'tiny qwen2 test model (random weights)',
    vocabulary: MIN_VOCABULARY,
    embedding: 64,
    feedForward: 128,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    contextLength: 4096,
    ropeTheta: 10000,
    rmsEpsilon: 1e-6,
  },
  /** config.json of deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B (untied output, q/k/v biases). */
  'r1-1.5b': {
    description: 'DeepSeek-R1-Distill-Qwen-1.5B shape (random weights)',
    vocabulary: 151936,
    embedding: 1536,
    feedForward: 8960,
    layers: 28,
    heads: 12,
    kvHeads: 2,
    contextLength: 131072,
    ropeTheta: 10000,
    rmsEpsilon: 1e-6,
  },
} as const satisfies Record<string, Qwen2Shape>;

export type GgufShapeName = keyof typeof GGUF_SHAPES;

/** llama.cpp `LLAMA_FTYPE_MOSTLY_Q4_0`. */
const FILE_TYPE_Q4_0 = 2;

export async function writeGgufTestModel(
  file: string,
  options: { shape?: GgufShapeName; seed?: number } = {},
): Promise<WrittenGguf> {
  const shapeName = options.shape ?? 'tiny';
  const shape: Qwen2Shape = GGUF_SHAPES[shapeName];
  const seed = options.seed ?? 1;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.string('qwen2')],
    ['general.name', gguf.string(`infergate ${shapeName} (${shape.description})`)],
    ['general.file_type', gguf.u32(FILE_TYPE_Q4_0)],
    ['general.quantization_version', gguf.u32(2)],
    ['qwen2.context_length', gguf.u32(shape.contextLength)],
    ['qwen2.embedding_length', gguf.u32(shape.embedding)],
    ['qwen2.block_count', gguf.u32(shape.layers)],
    ['qwen2.feed_forward_length', gguf.u32(shape.feedForward)],
    ['qwen2.attention.head_count', gguf.u32(shape.heads)],
    ['qwen2.attention.head_count_kv', gguf.u32(shape.kvHeads)],
    ['qwen2.attention.layer_norm_rms_epsilon', gguf.f32(shape.rmsEpsilon)],
    ['qwen2.rope.freq_base', gguf.f32(shape.ropeTheta)],
    ...r1TokenizerMetadata(shape.vocabulary),
  ];
  return writeGguf(file, { metadata, tensors: qwen2Tensors(shape, seed) });
}

function qwen2Tensors(shape: Qwen2Shape, seed: number): GgufTensor[] {
  const { embedding: d, feedForward: ff, vocabulary: vocab } = shape;
  const kv = (d / shape.heads) * shape.kvHeads;
  const tensors: GgufTensor[] = [];
  // Each tensor has its own stream, so its bytes do not depend on the order tensors are written in.
  const random = () => mulberry32((seed * 0x9e3779b1 + tensors.length * 0x85ebca6b) >>> 0);
  // Weights with variance 1/fan-in keep activations near unit scale through the random layers.
  const matrix = (name: string, fanIn: number, rows: number): void => {
    const next = random();
    tensors.push({
      name,
      dims: [fanIn, rows],
      type: 'Q4_0',
      data: () => randomQ4_0(fanIn * rows, 1 / Math.sqrt(fanIn), next),
    });
  };
  const ones = (name: string, size: number): void => {
    tensors.push({ name, dims: [size], type: 'F32', data: () => constantF32(size, 1) });
  };
  const bias = (name: string, size: number): void => {
    const next = random();
    tensors.push({ name, dims: [size], type: 'F32', data: () => uniformF32(size, 0.02, next) });
  };

  const embeddings = random();
  tensors.push({
    name: 'token_embd.weight',
    dims: [d, vocab],
    type: 'Q4_0',
    data: () => randomQ4_0(d * vocab, 1, embeddings),
  });
  for (let layer = 0; layer < shape.layers; layer += 1) {
    const blk = `blk.${layer}`;
    ones(`${blk}.attn_norm.weight`, d);
    matrix(`${blk}.attn_q.weight`, d, d);
    bias(`${blk}.attn_q.bias`, d);
    matrix(`${blk}.attn_k.weight`, d, kv);
    bias(`${blk}.attn_k.bias`, kv);
    matrix(`${blk}.attn_v.weight`, d, kv);
    bias(`${blk}.attn_v.bias`, kv);
    matrix(`${blk}.attn_output.weight`, d, d);
    ones(`${blk}.ffn_norm.weight`, d);
    matrix(`${blk}.ffn_gate.weight`, d, ff);
    matrix(`${blk}.ffn_up.weight`, d, ff);
    matrix(`${blk}.ffn_down.weight`, ff, d);
  }
  ones('output_norm.weight', d);
  matrix('output.weight', d, vocab);
  return tensors;
}
