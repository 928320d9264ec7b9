/**
 * How a pipeline's prompt becomes tokens, computed once per model: the model's own chat template (resolved by
 * node-llama-cpp from the GGUF's `tokenizer.chat_template`) is rendered around a placeholder user message and
 * cut there. Everything before the user's text (BOS, system prompt, user tag) is the prefix whose KV cache
 * every event reuses; the user's text is tokenized per event as plain text (special-token strings in event
 * fields stay text, never control tokens); the tail is the assistant tag plus, for models that think first
 * (DeepSeek-R1), a prefilled empty thought, so the first token the model produces is its answer.
 */
import {
  DeepSeekChatWrapper,
  LlamaText,
  resolveChatWrapper,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { PromptConfig } from '../../daemon/config.js';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';

export interface LlamaPromptLayout {
  /** BOS, the system prompt and the chat template up to the user's text. */
  readonly prefix: readonly Token[];
  /** After the user's text: the assistant tag, then an empty thought or (thinking allowed) an opened one. */
  readonly tail: readonly Token[];
  /** node-llama-cpp's name for the chat template (`DeepSeek`, `ChatML`, `JinjaTemplate`…). */
  readonly chatWrapper: string;
  /** Set when the model thinks in `<think>…</think>` and `thoughtTokens > 0` left the thought open. */
  readonly thought: {
    readonly end: Token;
    /** Appended when the thinking budget runs out: ends the thought, starts the answer. */
    readonly close: readonly Token[];
    /** Appended after the model ended its thought itself. */
    readonly afterEnd: readonly Token[];
  } | null;
  /** Whether the model has `<think>` tokens (a reasoning model whose thinking was disabled or budgeted). */
  readonly thinks: boolean;
  /** The event's rendered user message, as plain text. */
  tokenizeUser(text: string): Token[];
}

const USER_PLACEHOLDER = '\u0001infergate-user-message\u0001';

export function buildPromptLayout(model: LlamaModel, prompt: PromptConfig, label: string): LlamaPromptLayout {
  const wrapper = chatWrapperFor(model);
  const { contextText } = wrapper.generateContextState({
    chatHistory: [
      { type: 'system', text: prompt.system },
      { type: 'user', text: USER_PLACEHOLDER },
      { type: 'model', response: [] },
    ],
  });
  const before: LlamaText['values'][number][] = [];
  const after: LlamaText['values'][number][] = [];
  let found = false;
  for (const value of contextText.values) {
    if (!found && typeof value === 'string' && value.includes(USER_PLACEHOLDER)) {
      const at = value.indexOf(USER_PLACEHOLDER);
      before.push(value.slice(0, at));
      after.push(value.slice(at + USER_PLACEHOLDER.length));
      found = true;
    } else (found ? after : before).push(value);
  }
  if (!found) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `${label}: the model's chat template (${wrapper.wrapperName}) does not place the user message as text`,
    );
  }
  const tokenizer = model.tokenizer;
  const prefix = LlamaText(before).tokenize(tokenizer);
  let tail = LlamaText(after).tokenize(tokenizer, 'trimLeadingSpace');

  const thinkStart = singleToken(model, '<think>');
  const thinkEnd = singleToken(model, '</think>');
  let thought: LlamaPromptLayout['thought'] = null;
  const thinks = thinkStart !== null && thinkEnd !== null;
  if (thinkStart !== null && thinkEnd !== null) {
    // Templates that open the thought themselves (newer R1 ones end in `<think>\n`) get it replaced.
    const opened = tail.lastIndexOf(thinkStart);
    if (opened >= 0 && !tail.slice(opened).includes(thinkEnd)) tail = tail.slice(0, opened);
    const newline = tokenizer('\n', false, 'trimLeadingSpace');
    const paragraph = tokenizer('\n\n', false, 'trimLeadingSpace');
    if (prompt.mode === 'generate' && prompt.thoughtTokens > 0) {
      tail = [...tail, thinkStart, ...newline];
      thought = { end: thinkEnd, close: [...newline, thinkEnd, ...paragraph], afterEnd: paragraph };
    } else {
      tail = [...tail, thinkStart, ...paragraph, thinkEnd, ...paragraph];
    }
  }
  return {
    prefix,
    tail,
    chatWrapper: wrapper.wrapperName,
    thought,
    thinks,
    tokenizeUser: (text) => tokenizer(text, false, 'trimLeadingSpace'),
  };
}

/**
 * The context must hold the prefix, the longest allowed prompt, the tail and (generate) the answer; the
 * template alone must leave room for the event. IG_ERR_MODEL_SHAPE otherwise.
 */
export function assertPromptFits(
  layout: LlamaPromptLayout,
  prompt: PromptConfig,
  contextSize: number,
  typicalTokens: number,
  label: string,
): void {
  if (typicalTokens > prompt.maxPromptTokens) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `${label}: the prompt template alone is about ${typicalTokens} tokens, more than ` +
        `prompt.maxPromptTokens (${prompt.maxPromptTokens}); every event would be refused`,
    );
  }
  const answer =
    prompt.mode === 'generate'
      ? prompt.maxAnswerTokens +
        (layout.thought === null ? 0 : prompt.thoughtTokens + layout.thought.close.length)
      : 1;
  const needed = layout.prefix.length + prompt.maxPromptTokens + layout.tail.length + answer;
  if (needed > contextSize) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `${label}: an event needs up to ${needed} tokens of context (system prefix ${layout.prefix.length}, ` +
        `maxPromptTokens ${prompt.maxPromptTokens}, template tail ${layout.tail.length}, answer ${answer}), ` +
        `more than llama.contextSize (${contextSize})`,
    );
  }
}

/**
 * The first token of each label when it follows the prefilled answer position. Refused unless distinct: the
 * one-pass scoring reads one probability per label at one position.
 */
export function labelFirstTokens(model: LlamaModel, labels: readonly string[], label: string): Token[] {
  const firsts = labels.map((text) => model.tokenizer(text, false, 'trimLeadingSpace')[0]);
  const problems: string[] = [];
  firsts.forEach((token, index) => {
    if (token === undefined) problems.push(`label ${JSON.stringify(labels[index])} has no tokens`);
    const other = firsts.indexOf(token);
    if (token !== undefined && other < index) {
      problems.push(
        `labels ${JSON.stringify(labels[other])} and ${JSON.stringify(labels[index])} start with the same ` +
          `token ${JSON.stringify(model.detokenize([token]))}`,
      );
    }
  });
  if (problems.length > 0) {
    throw new ModelError(
      ErrorCodes.MODEL_SHAPE,
      `${label}: ${problems.join('; ')}. Classification scores each label by its first token in one forward ` +
        'pass, so every label must start with a different token: rename the labels (prompt.labels) so they do',
    );
  }
  return firsts as Token[];
}

/**
 * node-llama-cpp's chat wrapper for the model's template. Its general resolution renders sample chats through
 * the Jinja template for every known wrapper (2–3 s on a small box, at every start), so the DeepSeek
 * family, recognisable by its `<｜User｜>`/`<｜Assistant｜>` tags, gets its wrapper directly.
 */
function chatWrapperFor(model: LlamaModel): ChatWrapper {
  const template = model.fileInfo.metadata?.tokenizer?.chat_template;
  if (
    typeof template === 'string' &&
    template.includes('<｜User｜>') &&
    template.includes('<｜Assistant｜>')
  ) {
    return new DeepSeekChatWrapper();
  }
  return resolveChatWrapper(model);
}

/** The token `text` is in the vocabulary as one (special or added) token, or null. */
function singleToken(model: LlamaModel, text: string): Token | null {
  const tokens = model.tokenize(text, true);
  if (tokens.length !== 1) return null;
  return model.detokenize(tokens, true) === text ? tokens[0]! : null;
}
