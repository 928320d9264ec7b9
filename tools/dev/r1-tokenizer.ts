/**
 * A byte-level BPE vocabulary with DeepSeek-R1's special tokens and chat template, as GGUF tokenizer keys.
 * Text tokenizes to one token per UTF-8 byte (the 256 GPT-2 byte symbols), so token counts are predictable:
 * an event of 30 ASCII characters is 30 tokens. The one merge is `\n\n`, a single token in Qwen's vocabulary
 * too, so the chat template's tail (`<｜Assistant｜><think>\n\n</think>\n\n`) is as long as the real one. The special tokens are the ones the R1
 * distills use, at the same ids when the vocabulary is R1-sized, so node-llama-cpp recognises the chat
 * template and the `<think>` segments exactly as it does for the real model.
 */
import { gguf, type GgufValue } from './gguf-writer.js';

/** llama.cpp `llama_token_type`. */
const TokenType = { normal: 1, control: 3, userDefined: 4 } as const;

interface SpecialToken {
  text: string;
  type: number;
}

/** In vocabulary order; in DeepSeek-R1-Distill-Qwen they start at id 151643. */
const SPECIAL_TOKENS: readonly SpecialToken[] = [
  { text: '<｜end▁of▁sentence｜>', type: TokenType.control },
  { text: '<｜User｜>', type: TokenType.control },
  { text: '<｜Assistant｜>', type: TokenType.control },
  { text: '<｜begin▁of▁sentence｜>', type: TokenType.control },
  { text: '<|EOT|>', type: TokenType.control },
  { text: '<think>', type: TokenType.userDefined },
  { text: '</think>', type: TokenType.userDefined },
  { text: '<｜tool▁calls▁begin｜>', type: TokenType.control },
  { text: '<｜tool▁calls▁end｜>', type: TokenType.control },
  { text: '<｜tool▁call▁begin｜>', type: TokenType.control },
  { text: '<｜tool▁call▁end｜>', type: TokenType.control },
  { text: '<｜tool▁outputs▁begin｜>', type: TokenType.control },
  { text: '<｜tool▁outputs▁end｜>', type: TokenType.control },
  { text: '<｜tool▁output▁begin｜>', type: TokenType.control },
  { text: '<｜tool▁output▁end｜>', type: TokenType.control },
  { text: '<｜tool▁sep｜>', type: TokenType.control },
  { text: '<｜▁pad▁｜>', type: TokenType.control },
];

/** Where the special tokens start in an R1-sized (151936) vocabulary. */
const R1_SPECIAL_BASE = 151643;
const BYTE_TOKENS = 256;
/** GPT-2 byte symbols of `\n\n`, merged into one token right after the bytes. */
const PARAGRAPH = 'ĊĊ';

/**
 * DeepSeek-R1's chat template (the form node-llama-cpp maps to its DeepSeek chat wrapper): BOS, the system
 * prompt, then `<｜User｜>…`, `<｜Assistant｜>…<｜end▁of▁sentence｜>` turns, with thoughts stripped from earlier
 * answers; tool calls as in the original.
 */
export const R1_CHAT_TEMPLATE = [
  '{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}',
  "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}",
  "{%- for message in messages %}{%- if message['role'] == 'system' %}",
  "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}",
  '{{bos_token}}{{ns.system_prompt}}',
  "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}",
  "{{'<｜User｜>' + message['content']}}{%- endif %}",
  "{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}",
  "{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}",
  "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + ",
  "tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + ",
  "'<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}",
  "{{'\\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + ",
  "'```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}",
  "{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}",
  "{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}",
  "{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}",
  "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}",
  "{% set content = content.split('</think>')[-1] %}{% endif %}",
  "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}",
  "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}",
  "{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}",
  '{%- set ns.is_output_first = false %}{%- else %}',
  "{{'\\n<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}",
  '{%- endfor -%}',
  "{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}",
  "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}",
].join('');

/** The smallest vocabulary that holds the byte symbols, the merged `\n\n` and the special tokens. */
export const MIN_VOCABULARY = BYTE_TOKENS + 1 + SPECIAL_TOKENS.length;

/**
 * The `tokenizer.*` GGUF keys for a vocabulary of `size` tokens: the 256 byte symbols first (id = byte), the
 * merged `\n\n`, then filler tokens no text ever produces, with the special tokens at R1's ids when the
 * vocabulary is large enough and right after `\n\n` otherwise.
 */
export function r1TokenizerMetadata(size: number): [string, GgufValue][] {
  if (!Number.isInteger(size) || size < MIN_VOCABULARY) {
    throw new RangeError(`a vocabulary needs at least ${MIN_VOCABULARY} tokens, got ${size}`);
  }
  const specialBase = size >= R1_SPECIAL_BASE + SPECIAL_TOKENS.length ? R1_SPECIAL_BASE : BYTE_TOKENS + 1;
  const tokens: string[] = [];
  const types: number[] = [];
  const symbols = gpt2ByteSymbols();
  for (let id = 0; id < size; id += 1) {
    const special = SPECIAL_TOKENS[id - specialBase];
    if (id < BYTE_TOKENS) {
      tokens.push(symbols[id]!);
      types.push(TokenType.normal);
    } else if (id === BYTE_TOKENS) {
      tokens.push(PARAGRAPH);
      types.push(TokenType.normal);
    } else if (special !== undefined) {
      tokens.push(special.text);
      types.push(special.type);
    } else {
      tokens.push(`[filler${id}]`);
      types.push(TokenType.normal);
    }
  }
  const idOf = (text: string): number =>
    specialBase + SPECIAL_TOKENS.findIndex((token) => token.text === text);
  return [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string('qwen2')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.merges', gguf.strings(['Ċ Ċ'])],
    ['tokenizer.ggml.bos_token_id', gguf.u32(idOf('<｜begin▁of▁sentence｜>'))],
    ['tokenizer.ggml.eos_token_id', gguf.u32(idOf('<｜end▁of▁sentence｜>'))],
    ['tokenizer.ggml.padding_token_id', gguf.u32(idOf('<｜end▁of▁sentence｜>'))],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.string(R1_CHAT_TEMPLATE)],
  ];
}

/**
 * GPT-2's byte-to-unicode table (byte-level BPE): printable Latin-1 bytes stand for themselves, the other 68
 * bytes map to U+0100 onwards in byte order, so every byte has a visible, whitespace-free symbol.
 */
function gpt2ByteSymbols(): string[] {
  const symbols: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte += 1) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    symbols.push(String.fromCodePoint(printable ? byte : next++));
  }
  return symbols;
}
