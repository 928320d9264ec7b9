/**
 * JSON payload decoder. One left-to-right pass over the decoded text checks syntax, nesting depth,
 * duplicate and prototype-polluting keys, non-finite numbers and unsafe integers, and builds the event from
 * null-prototype objects at the same time. JSON.parse cannot do this: it silently keeps the last of two
 * duplicate keys, turns 1e400 into Infinity, rounds 2^53 + 1, cannot report the source text of a number to a
 * reviver in Node 20, and its error messages quote the payload.
 */
import type { InputLimits } from '../../daemon/config.js';
import { ConfigError, ErrorCodes, InputError } from '../../daemon/errors.js';
import type { EventFields } from '../../daemon/ports.js';
import { JsonParser } from './json-parser.js';

export interface JsonDecoderDeps {
  limits: InputLimits;
  /** The config key `limits.maxPayloadBytes` came from, for the refusal message; default that key. */
  payloadLimitKey?: string;
}

/** The parser recurses once per nesting level, so the depth limit also bounds its stack use. */
export const MAX_SUPPORTED_DEPTH = 1000;

/** A `PayloadDecoder` that needs no topic: JSON events say everything in their payload. */
export function createJsonDecoder(deps: JsonDecoderDeps): (payload: Buffer) => EventFields {
  const { maxPayloadBytes, maxDepth } = deps.limits;
  const limitKey = deps.payloadLimitKey ?? 'limits.maxPayloadBytes';
  const problems = [];
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1) {
    problems.push({ path: 'limits.maxPayloadBytes', message: 'must be a positive integer' });
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_SUPPORTED_DEPTH) {
    problems.push({
      path: 'limits.maxDepth',
      message: `must be an integer from 1 to ${MAX_SUPPORTED_DEPTH}`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  // fatal: invalid UTF-8 (overlongs, encoded surrogates, truncated sequences) throws instead of becoming
  // U+FFFD; a leading BOM is dropped, which RFC 8259 allows a parser to do.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const parser = new JsonParser(maxDepth);

  return function decodeJson(payload: Buffer): EventFields {
    // Before anything else, so an oversized payload costs no decoding work.
    if (payload.length > maxPayloadBytes) {
      throw new InputError(
        ErrorCodes.INPUT_TOO_LARGE,
        `payload is ${payload.length} bytes, more than ${limitKey} (${maxPayloadBytes})`,
      );
    }
    if (payload.length === 0) {
      throw new InputError(ErrorCodes.INPUT_EMPTY, 'payload is empty');
    }
    let text: string;
    try {
      text = utf8.decode(payload);
    } catch (error) {
      throw new InputError(ErrorCodes.INPUT_NOT_UTF8, 'payload is not valid UTF-8', undefined, {
        cause: error,
      });
    }
    return parser.parseEvent(text);
  };
}
