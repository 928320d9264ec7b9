import type { PromptConfig } from './config.js';
import { ErrorCodes, InputError } from './errors.js';
import type { EventFields } from './ports.js';

/** A prompt template compiled once: `{path}` placeholders filled from the event, nothing else evaluated. */
export interface CompiledPrompt {
  /** The placeholder paths, in template order. */
  readonly fields: readonly string[];
  render(event: EventFields): string;
}

const PLACEHOLDER = /\{([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)\}/g;
/** A field value longer than this is refused: it would crowd the system prompt out of the budget. */
const MAX_VALUE_CHARS = 512;

export function compilePromptTemplate(prompt: PromptConfig): CompiledPrompt {
  const parts: (string | string[])[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const match of prompt.template.matchAll(PLACEHOLDER)) {
    parts.push(prompt.template.slice(last, match.index));
    const path = match[1] as string;
    fields.push(path);
    parts.push(path.split('.'));
    last = match.index + match[0].length;
  }
  parts.push(prompt.template.slice(last));
  return Object.freeze({
    fields: Object.freeze(fields),
    render(event: EventFields): string {
      let out = '';
      for (const part of parts) out += typeof part === 'string' ? part : valueAt(event, part);
      return out;
    },
  });
}

function valueAt(event: EventFields, segments: string[]): string {
  let value: unknown = event;
  for (const segment of segments) {
    if (
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      !Object.hasOwn(value, segment)
    ) {
      throw new InputError(
        ErrorCodes.INPUT_FIELD_MISSING,
        `missing field ${segments.join('.')}`,
        segments.join('.'),
      );
    }
    value = (value as Record<string, unknown>)[segment];
  }
  const path = segments.join('.');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    if (value.length > MAX_VALUE_CHARS) {
      throw new InputError(
        ErrorCodes.INPUT_FIELD_INVALID,
        `${path} is longer than ${MAX_VALUE_CHARS} characters`,
        path,
      );
    }
    return value;
  }
  if (value === null || value === undefined) {
    throw new InputError(ErrorCodes.INPUT_FIELD_MISSING, `missing field ${path}`, path);
  }
  throw new InputError(ErrorCodes.INPUT_FIELD_INVALID, `${path} must be a number, boolean or string`, path);
}
