/**
 * Every error infergate raises carries a stable code (listed in docs/errors.md), a retryable flag and,
 * where it wraps another failure, a cause. Callers branch on `code`, never on the message.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'IG_ERR_CONFIG_INVALID',
  CONFIG_READ: 'IG_ERR_CONFIG_READ',
  INPUT_TOO_LARGE: 'IG_ERR_INPUT_TOO_LARGE',
  INPUT_EMPTY: 'IG_ERR_INPUT_EMPTY',
  INPUT_NOT_UTF8: 'IG_ERR_INPUT_NOT_UTF8',
  INPUT_NOT_JSON: 'IG_ERR_INPUT_NOT_JSON',
  INPUT_TOO_DEEP: 'IG_ERR_INPUT_TOO_DEEP',
  INPUT_NOT_OBJECT: 'IG_ERR_INPUT_NOT_OBJECT',
  INPUT_FIELD_MISSING: 'IG_ERR_INPUT_FIELD_MISSING',
  INPUT_FIELD_INVALID: 'IG_ERR_INPUT_FIELD_INVALID',
  INPUT_PROMPT_TOO_LONG: 'IG_ERR_INPUT_PROMPT_TOO_LONG',
  INPUT_IMAGE_FORMAT: 'IG_ERR_INPUT_IMAGE_FORMAT',
  INPUT_IMAGE_TOO_LARGE: 'IG_ERR_INPUT_IMAGE_TOO_LARGE',
  INPUT_IMAGE_CORRUPT: 'IG_ERR_INPUT_IMAGE_CORRUPT',
  SPARKPLUG_PAYLOAD: 'IG_ERR_SPARKPLUG_PAYLOAD',
  SPARKPLUG_NO_BIRTH: 'IG_ERR_SPARKPLUG_NO_BIRTH',
  SPARKPLUG_DEAD: 'IG_ERR_SPARKPLUG_DEAD',
  SPARKPLUG_SEQ_GAP: 'IG_ERR_SPARKPLUG_SEQ_GAP',
  SPARKPLUG_UNKNOWN_METRIC: 'IG_ERR_SPARKPLUG_UNKNOWN_METRIC',
  MODEL_NOT_FOUND: 'IG_ERR_MODEL_NOT_FOUND',
  MODEL_SHA256_MISMATCH: 'IG_ERR_MODEL_SHA256_MISMATCH',
  MODEL_LOAD: 'IG_ERR_MODEL_LOAD',
  MODEL_SHAPE: 'IG_ERR_MODEL_SHAPE',
  MODEL_RUN: 'IG_ERR_MODEL_RUN',
  MODEL_CLOSED: 'IG_ERR_MODEL_CLOSED',
  MODEL_OVERLOAD: 'IG_ERR_MODEL_OVERLOAD',
  MODEL_CANCELLED: 'IG_ERR_MODEL_CANCELLED',
  TOPIC_INVALID: 'IG_ERR_TOPIC_INVALID',
  TOPIC_NOT_ALLOWED: 'IG_ERR_TOPIC_NOT_ALLOWED',
  MQTT_CONNECT: 'IG_ERR_MQTT_CONNECT',
  MQTT_PUBLISH: 'IG_ERR_MQTT_PUBLISH',
  MQTT_NOT_CONNECTED: 'IG_ERR_MQTT_NOT_CONNECTED',
  BROKER_START: 'IG_ERR_BROKER_START',
  STATE_OPEN: 'IG_ERR_STATE_OPEN',
  STATE_WRITE: 'IG_ERR_STATE_WRITE',
  METRICS_LISTEN: 'IG_ERR_METRICS_LISTEN',
  ONNX_DECODE: 'IG_ERR_ONNX_DECODE',
  QUANTIZE_UNSUPPORTED: 'IG_ERR_QUANTIZE_UNSUPPORTED',
  EVAL_DATA: 'IG_ERR_EVAL_DATA',
  TOOL_INPUT: 'IG_ERR_TOOL_INPUT',
  TOOL_OUTPUT: 'IG_ERR_TOOL_OUTPUT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ErrorOptions {
  retryable?: boolean;
  cause?: unknown;
}

export class InfergateError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One problem in a config file: `path` is the dotted key (`pipelines[0].budgetMs`), `message` says why. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends InfergateError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options: ErrorOptions = {}) {
    super(
      ErrorCodes.CONFIG_INVALID,
      `invalid config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
      options,
    );
    this.problems = problems;
  }
}

/** Bad event input: the event is answered `invalid_input` and dead-lettered, never retried. */
export class InputError extends InfergateError {
  /** The event field at fault, when one is known (`card.present`). */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string, options: ErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.field = field;
  }
}

export class ModelError extends InfergateError {}

export class TopicError extends InfergateError {}

export class MqttError extends InfergateError {}

export class StateError extends InfergateError {}

export function isInfergateError(error: unknown): error is InfergateError {
  return error instanceof InfergateError;
}
