/**
 * The JSON decoder's parser: one left-to-right pass that checks syntax, nesting depth, duplicate and
 * prototype-polluting keys, non-finite numbers and unsafe integers while it builds the event from
 * null-prototype objects.
 */
import { ErrorCodes, InputError } from '../../daemon/errors.js';
import type { EventFields } from '../../daemon/ports.js';
import { Ch, hexValue } from './json-chars.js';
import { describeType, formatPath, quoteKey } from './json-paths.js';

const POWERS_OF_TEN: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

const KEY_CACHE_SIZE = 256;
const MAX_CACHED_KEY = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A recursive-descent JSON parser that accepts exactly what JSON.parse accepts. Reused across events: one
 * decoder serves one pipeline on one thread and never re-enters itself.
 */
export class JsonParser {
  private text = '';
  private pos = 0;
  private depth = 0;
  /** Key or index per nesting level, so a field problem can name its path without building it eagerly. */
  private readonly path: (string | number)[] = [];
  /** The first field problem in document order; reported only if the whole document is valid JSON. */
  private fieldError: InputError | null = null;
  private readonly keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_CACHE_SIZE);

  constructor(private readonly maxDepth: number) {}

  parseEvent(text: string): EventFields {
    this.text = text;
    this.pos = 0;
    this.depth = 0;
    this.fieldError = null;
    try {
      this.skipWhitespace();
      if (this.pos >= text.length) {
        throw this.syntaxError('no JSON value, only whitespace or a byte order mark');
      }
      const value = this.parseValue();
      this.skipWhitespace();
      if (this.pos < text.length) throw this.syntaxError('unexpected data after the JSON value');
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InputError(
          ErrorCodes.INPUT_NOT_OBJECT,
          `payload must be a JSON object at the top level, got ${describeType(value)}`,
        );
      }
      if (this.fieldError !== null) throw this.fieldError;
      return value as EventFields;
    } finally {
      // Do not keep the last payload alive between events.
      this.text = '';
      this.path.length = 0;
      this.fieldError = null;
    }
  }

  private parseValue(): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case Ch.OpenBrace:
        return this.parseObject();
      case Ch.OpenBracket:
        return this.parseArray();
      case Ch.Quote:
        return this.parseString();
      case Ch.LowerT:
        return this.parseLiteral('true', true);
      case Ch.LowerF:
        return this.parseLiteral('false', false);
      case Ch.LowerN:
        return this.parseLiteral('null', null);
      default:
        if (c === Ch.Minus || (c >= Ch.Zero && c <= Ch.Nine)) return this.parseNumber();
        throw this.unexpected();
    }
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new InputError(
        ErrorCodes.INPUT_TOO_DEEP,
        `payload nests deeper than limits.maxDepth (${this.maxDepth}) at position ${this.pos}`,
      );
    }
  }

  private parseObject(): Record<string, unknown> {
    this.enter();
    const level = this.depth;
    const object = Object.create(null) as Record<string, unknown>;
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === Ch.CloseBrace) {
      this.pos++;
      this.depth--;
      return object;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== Ch.Quote) throw this.unexpected();
      const key = this.parseKey();
      this.path[level] = key;
      if (this.fieldError === null) {
        if ((key.length === 9 || key.length === 11) && FORBIDDEN_KEYS.has(key)) {
          this.recordFieldError(
            level,
            `key ${quoteKey(key)} is not allowed in an event (prototype pollution attempt)`,
          );
        } else if (key in object) {
          this.recordFieldError(
            level,
            `duplicate key ${quoteKey(key)}: an event may name each field only once`,
          );
        }
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== Ch.Colon) throw this.unexpected();
      this.pos++;
      this.skipWhitespace();
      object[key] = this.parseValue();
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === Ch.Comma) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === Ch.CloseBrace) {
        this.pos++;
        this.depth--;
        return object;
      } else {
        throw this.unexpected();
      }
    }
  }

  private parseArray(): unknown[] {
    this.enter();
    const level = this.depth;
    const array: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === Ch.CloseBracket) {
      this.pos++;
      this.depth--;
      return array;
    }
    for (;;) {
      this.path[level] = array.length;
      array.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === Ch.Comma) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === Ch.CloseBracket) {
        this.pos++;
        this.depth--;
        return array;
      } else {
        throw this.unexpected();
      }
    }
  }

  /**
   * Events repeat the same keys, so recently seen keys are reused: the string and its hash already exist,
   * which makes the insert into the object cheaper than hashing a fresh substring every time.
   */
  private parseKey(): string {
    const text = this.text;
    const start = this.pos + 1;
    let pos = start;
    let c = text.charCodeAt(pos);
    while (c !== Ch.Quote && c !== Ch.Backslash && c >= Ch.Space) c = text.charCodeAt(++pos);
    const length = pos - start;
    if (c !== Ch.Quote || length === 0 || length > MAX_CACHED_KEY) return this.parseString();
    const slot = (length * 31 + text.charCodeAt(start) * 7 + text.charCodeAt(pos - 1)) & (KEY_CACHE_SIZE - 1);
    const cached = this.keyCache[slot];
    this.pos = pos + 1;
    if (cached !== undefined && cached.length === length && text.startsWith(cached, start)) return cached;
    const key = text.slice(start, pos);
    this.keyCache[slot] = key;
    return key;
  }

  private parseString(): string {
    const text = this.text;
    const end = text.length;
    let pos = this.pos + 1;
    let chunkStart = pos;
    let out = '';
    while (pos < end) {
      const c = text.charCodeAt(pos);
      if (c === Ch.Quote) {
        this.pos = pos + 1;
        return out + text.slice(chunkStart, pos);
      }
      if (c === Ch.Backslash) {
        out += text.slice(chunkStart, pos);
        pos++;
        const e = text.charCodeAt(pos);
        switch (e) {
          case Ch.Quote:
            out += '"';
            break;
          case Ch.Backslash:
            out += '\\';
            break;
          case Ch.Slash:
            out += '/';
            break;
          case Ch.LowerB:
            out += '\b';
            break;
          case Ch.LowerF:
            out += '\f';
            break;
          case Ch.LowerN:
            out += '\n';
            break;
          case Ch.LowerR:
            out += '\r';
            break;
          case Ch.LowerT:
            out += '\t';
            break;
          case Ch.LowerU: {
            let code = 0;
            for (let i = 1; i <= 4; i++) {
              const digit = hexValue(text.charCodeAt(pos + i));
              if (digit < 0) {
                this.pos = pos + i;
                throw this.syntaxError('invalid \\u escape in a string');
              }
              code = code * 16 + digit;
            }
            // Lone surrogates are valid JSON and JSON.parse keeps them, so this does too.
            out += String.fromCharCode(code);
            pos += 4;
            break;
          }
          default:
            this.pos = pos;
            throw pos >= end
              ? this.syntaxError('unterminated string')
              : this.syntaxError('invalid escape in a string');
        }
        pos++;
        chunkStart = pos;
        continue;
      }
      if (c < Ch.Space) {
        this.pos = pos;
        throw this.syntaxError('control character in a string');
      }
      pos++;
    }
    this.pos = pos;
    throw this.syntaxError('unterminated string');
  }

  private parseNumber(): number {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    let c = text.charCodeAt(pos);
    const negative = c === Ch.Minus;
    if (negative) c = text.charCodeAt(++pos);
    // Digits are accumulated while scanning so that the common short number needs no substring.
    let mantissa = 0;
    let digits = 0;
    if (c === Ch.Zero) {
      c = text.charCodeAt(++pos);
    } else if (c > Ch.Zero && c <= Ch.Nine) {
      do {
        mantissa = mantissa * 10 + (c - Ch.Zero);
        digits++;
        c = text.charCodeAt(++pos);
      } while (c >= Ch.Zero && c <= Ch.Nine);
    } else {
      this.pos = pos;
      throw this.syntaxError('invalid number');
    }
    let integer = true;
    let fractionDigits = 0;
    if (c === Ch.Dot) {
      integer = false;
      c = text.charCodeAt(++pos);
      if (!(c >= Ch.Zero && c <= Ch.Nine)) {
        this.pos = pos;
        throw this.syntaxError('invalid number');
      }
      do {
        mantissa = mantissa * 10 + (c - Ch.Zero);
        if (mantissa !== 0) digits++;
        fractionDigits++;
        c = text.charCodeAt(++pos);
      } while (c >= Ch.Zero && c <= Ch.Nine);
    }
    let exponent = false;
    if (c === Ch.LowerE || c === Ch.UpperE) {
      integer = false;
      exponent = true;
      c = text.charCodeAt(++pos);
      if (c === Ch.Plus || c === Ch.Minus) c = text.charCodeAt(++pos);
      if (!(c >= Ch.Zero && c <= Ch.Nine)) {
        this.pos = pos;
        throw this.syntaxError('invalid number');
      }
      do c = text.charCodeAt(++pos);
      while (c >= Ch.Zero && c <= Ch.Nine);
    }
    this.pos = pos;
    let value: number;
    if (!exponent && digits <= 15 && fractionDigits <= 22) {
      // Clinger's fast path: a mantissa below 10^15 and a power of ten up to 10^22 are both exact doubles,
      // so one IEEE division rounds exactly as JSON.parse does.
      value = fractionDigits === 0 ? mantissa : mantissa / POWERS_OF_TEN[fractionDigits];
      if (negative) value = -value;
    } else {
      value = Number(text.slice(start, pos));
    }
    if (this.fieldError === null) {
      if (!Number.isFinite(value)) {
        this.recordFieldError(this.depth, 'number is out of range (it would be Infinity)');
      } else if (integer && !Number.isSafeInteger(value)) {
        this.recordFieldError(
          this.depth,
          'integer is beyond ±2^53 and would lose precision; send ids and other large integers as strings',
        );
      }
    }
    return value;
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw this.unexpected();
    this.pos += word.length;
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    let c = text.charCodeAt(pos);
    while (c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab) c = text.charCodeAt(++pos);
    this.pos = pos;
  }

  private recordFieldError(level: number, problem: string): void {
    const field = formatPath(this.path, level);
    this.fieldError = new InputError(
      ErrorCodes.INPUT_FIELD_INVALID,
      `${field === '' ? 'payload' : `field ${field}`}: ${problem}`,
      field === '' ? undefined : field,
    );
  }

  private unexpected(): InputError {
    return this.syntaxError(
      this.pos >= this.text.length ? 'unexpected end of input' : 'unexpected character',
    );
  }

  /** Says where, never what: the offending text is payload content. */
  private syntaxError(problem: string): InputError {
    return new InputError(
      ErrorCodes.INPUT_NOT_JSON,
      `payload is not JSON: ${problem} at position ${this.pos}`,
    );
  }
}
