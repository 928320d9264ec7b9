/**
 * The GGUF tools, checked with node-llama-cpp's own GGUF parser (pure JavaScript: no native model is loaded).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import t from 'tap';
import { float16Bits, randomQ4_0 } from '../tools/dev/gguf-tensor-data.js';
import { GGUF_SHAPES, writeGgufTestModel } from '../tools/dev/gguf-test-model.js';
import { gguf, tensorBytes, writeGguf } from '../tools/dev/gguf-writer.js';
import { mulberry32 } from '../tools/train/mulberry32.js';
import { MIN_VOCABULARY, R1_CHAT_TEMPLATE, r1TokenizerMetadata } from '../tools/dev/r1-tokenizer.js';

const read = (path: string) => readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false });

t.test('header, metadata and aligned tensor data round-trip through a GGUF reader', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'small.gguf');
  const weights = new Float32Array([1, -2, 3.5]);
  const written = await writeGguf(path, {
    metadata: [
      ['general.architecture', gguf.string('llama')],
      ['test.count', gguf.u32(7)],
      ['test.offset', gguf.i32(-3)],
      ['test.scale', gguf.f32(0.5)],
      ['test.flag', gguf.bool(true)],
      ['test.names', gguf.strings(['a', 'ÿ', '<｜User｜>'])],
      ['test.ids', gguf.i32s([1, -1])],
    ],
    tensors: [
      { name: 'vector', dims: [3], type: 'F32', data: () => [new Uint8Array(weights.buffer)] },
      { name: 'matrix', dims: [32, 2], type: 'Q4_0', data: () => randomQ4_0(64, 0.1, mulberry32(1)) },
    ],
  });
  const bytes = readFileSync(path);
  t.equal(written.bytes, bytes.length);
  t.equal(written.sha256, createHash('sha256').update(bytes).digest('hex'), 'sha256 computed while writing');
  t.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
  const info = await read(path);
  t.equal(info.version, 3);
  const test = (info.metadata as unknown as { test: Record<string, unknown> }).test;
  t.same(test, {
    count: 7,
    offset: -3,
    scale: 0.5,
    flag: true,
    names: ['a', 'ÿ', '<｜User｜>'],
    ids: [1, -1],
  });
  const [vector, matrix] = info.fullTensorInfo!;
  t.same([vector!.name, vector!.dimensions.map(Number), Number(vector!.offset)], ['vector', [3], 0]);
  t.same([matrix!.name, matrix!.dimensions.map(Number), Number(matrix!.offset)], ['matrix', [32, 2], 32]);
  const dataStart = bytes.length - 32 - 64;
  t.equal(dataStart % 32, 0, 'the data section is aligned');
  t.same(
    [
      ...new Float32Array(
        bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + dataStart + 12),
      ),
    ],
    [1, -2, 3.5],
  );
  t.equal(tensorBytes([32, 2], 'Q4_0'), 2 * 18, 'Q4_0: 18 bytes per block of 32');
  t.throws(() => tensorBytes([48, 2], 'Q4_0'), RangeError, 'rows must be whole Q4_0 blocks');
  await t.rejects(
    writeGguf(join(dir, 'short.gguf'), {
      metadata: [],
      tensors: [{ name: 'x', dims: [4], type: 'F32', data: () => [new Uint8Array(8)] }],
    }),
    RangeError,
    'a tensor that produces the wrong number of bytes is an error',
  );
});

t.test('half-precision scales', async (t) => {
  t.equal(float16Bits(1), 0x3c00);
  t.equal(float16Bits(-2), 0xc000);
  t.equal(float16Bits(65504), 0x7bff);
  t.equal(float16Bits(1e6), 0x7c00, 'overflow is infinity');
  t.equal(float16Bits(2 ** -14), 0x0400, 'smallest normal');
  t.equal(float16Bits(2 ** -24), 0x0001, 'smallest subnormal');
  t.equal(float16Bits(1e-9), 0, 'underflow is zero');
  t.equal(float16Bits(1 + 2 ** -11), 0x3c00, 'ties round to even');
});

t.test('the tiny test model: qwen2, Q4_0, R1 tokens and chat template, reproducible', async (t) => {
  const dir = t.testdir({});
  const a = await writeGgufTestModel(join(dir, 'a.gguf'), { seed: 3 });
  const again = await writeGgufTestModel(join(dir, 'b.gguf'), { seed: 3 });
  const other = await writeGgufTestModel(join(dir, 'c.gguf'), { seed: 4 });
  t.equal(a.sha256, again.sha256, 'same seed, same bytes');
  t.not(a.sha256, other.sha256);
  t.ok(statSync(join(dir, 'a.gguf')).size < 100_000, `small (${a.bytes} bytes)`);
  const info = await read(join(dir, 'a.gguf'));
  const metadata = info.metadata as unknown as {
    general: { architecture: string; file_type: number };
    qwen2: { embedding_length: number; block_count: number; attention: { head_count_kv: number } };
    tokenizer: {
      ggml: { model: string; pre: string; tokens: string[]; bos_token_id: number };
      chat_template: string;
    };
  };
  t.equal(metadata.general.architecture, 'qwen2');
  t.equal(metadata.general.file_type, 2, 'mostly Q4_0');
  t.equal(metadata.qwen2.embedding_length, GGUF_SHAPES.tiny.embedding);
  t.equal(metadata.tokenizer.ggml.model, 'gpt2');
  t.equal(metadata.tokenizer.ggml.pre, 'qwen2');
  t.equal(metadata.tokenizer.ggml.tokens.length, MIN_VOCABULARY);
  t.equal(metadata.tokenizer.ggml.tokens[metadata.tokenizer.ggml.bos_token_id], '<｜begin▁of▁sentence｜>');
  t.equal(metadata.tokenizer.chat_template, R1_CHAT_TEMPLATE);
  const types = new Set(info.fullTensorInfo!.map((tensor) => tensor.ggmlType));
  t.same([...types].sort(), [0, 2], 'F32 norms and biases, Q4_0 matrices');
});

t.test('the r1-1.5b shape: DeepSeek-R1-Distill-Qwen-1.5B dimensions and token ids', async (t) => {
  t.match(GGUF_SHAPES['r1-1.5b'], {
    vocabulary: 151936,
    embedding: 1536,
    feedForward: 8960,
    layers: 28,
    heads: 12,
    kvHeads: 2,
  });
  const metadata = new Map(r1TokenizerMetadata(151936));
  const tokens = (metadata.get('tokenizer.ggml.tokens') as { values: readonly string[] }).values;
  t.equal(tokens.length, 151936);
  t.same(tokens.slice(151643, 151650), [
    '<｜end▁of▁sentence｜>',
    '<｜User｜>',
    '<｜Assistant｜>',
    '<｜begin▁of▁sentence｜>',
    '<|EOT|>',
    '<think>',
    '</think>',
  ]);
  t.equal(tokens[65], 'A', 'byte symbols first, id = byte');
  t.equal(tokens[32], 'Ġ', 'GPT-2 byte symbol for a space');
  t.equal(tokens[10], 'Ċ', 'GPT-2 byte symbol for a newline');
  t.equal(tokens[256], 'ĊĊ', 'two newlines are one token, as in Qwen');
  t.same((metadata.get('tokenizer.ggml.merges') as { values: readonly string[] }).values, ['Ċ Ċ']);
});
